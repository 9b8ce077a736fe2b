export { Mailer, type OutgoingMail } from './mailer';
export { MailModule } from './mail.module';
export {
  type AuditCheckpointMailData,
  auditCheckpointMail,
  breakGlassMail,
  ssoCertificateMail,
  type SsoCertificateMailData,
  type BreakGlassMailData,
  escapeHtml,
  invitationMail,
  renderMail,
  type InvitationMailData,
  type MailContent,
  type MailTemplate,
  type TemplateMessage,
} from './templates';
