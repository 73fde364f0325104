import { RedactingSpanProcessor, redactQueryString, redactUrl } from './redaction';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

describe('URL redaction on spans', () => {
  it('replaces every query value except known-safe registry parameters', () => {
    expect(redactUrl('https://hooks.example/fn?code=s3cr3t&x=1')).toBe(
      'https://hooks.example/fn?code=REDACTED&x=REDACTED',
    );
    expect(redactUrl('/v2/library/nginx/blobs/uploads/abc?digest=sha256:00ff&_state=tok')).toBe(
      '/v2/library/nginx/blobs/uploads/abc?digest=sha256:00ff&_state=REDACTED',
    );
    expect(redactUrl('/oauth2/token?service=reg.example&scope=repository:a/b:pull&password=p')).toBe(
      '/oauth2/token?service=reg.example&scope=repository:a/b:pull&password=REDACTED',
    );
    expect(redactUrl('http://minio:9000/b/k?X-Amz-Signature=abc&X-Amz-Credential=c')).toBe(
      'http://minio:9000/b/k?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED',
    );
  });

  it('drops userinfo and leaves URLs without a query alone', () => {
    expect(redactUrl('https://user:pass@hooks.example/x')).toBe('https://hooks.example/x');
    expect(redactUrl('/v2/')).toBe('/v2/');
  });

  it('redacts a bare query string, with or without its question mark', () => {
    expect(redactQueryString('n=10&last=a&token=t')).toBe('n=10&last=a&token=REDACTED');
    expect(redactQueryString('?sig=abc')).toBe('?sig=REDACTED');
    expect(redactQueryString('flag&access_token=x#frag')).toBe('flag&access_token=REDACTED#frag');
  });

  it('scrubs URL attributes before any exporter sees them, including ones set after the span started', () => {
    const exported = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new RedactingSpanProcessor(), new SimpleSpanProcessor(exported)],
    });
    const span = provider
      .getTracer('t')
      .startSpan('POST', { attributes: { 'url.full': 'https://h/x?code=abc', 'url.query': 'token=t' } });
    span.setAttribute('http.url', 'https://u:p@h/y?sig=1');
    span.end();
    expect(exported.getFinishedSpans()[0]?.attributes).toEqual({
      'url.full': 'https://h/x?code=REDACTED',
      'url.query': 'token=REDACTED',
      'http.url': 'https://h/y?sig=REDACTED',
    });
  });
});
