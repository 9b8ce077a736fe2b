import { requestIdFrom } from './request-context';

describe('requestIdFrom', () => {
  const generate = () => 'generated';

  it('keeps a caller id made of safe characters', () => {
    expect(requestIdFrom('abc-123_x.y:z', generate)).toBe('abc-123_x.y:z');
  });

  it.each([[undefined], [''], ['a'.repeat(129)], ['line\nbreak'], ['<script>'], [['a', 'b']]])(
    'replaces %p with a new id',
    (header) => {
      expect(requestIdFrom(header, generate)).toBe('generated');
    },
  );
});
