/**
 * The bad-input corpus format (test/fixtures/bad-input/*.json). A case is data: what to send and what the
 * right answer is. Strings may hold placeholders ({{boardId}}, {{cardId}}, {{sentinel}}) that the runner fills
 * in, and `$gen` objects stand for inputs too large or too deep to keep literally in a fixture.
 */
import { z } from 'zod';

/** `repeat`: `text` × `times`; `nested`: `open` × depth + `inner` + `close` × depth (deep JSON). */
const gen = z.discriminatedUnion('$gen', [
  z.object({ $gen: z.literal('repeat'), text: z.string(), times: z.number().int().nonnegative() }),
  z.object({ $gen: z.literal('nested'), open: z.string(), close: z.string(), inner: z.string().default(''), depth: z.number().int().positive() }),
]);
export type Gen = z.infer<typeof gen>;
const text = z.union([z.string(), gen]);

/** How the signature header is made (see signature.ts): only `valid` is what an honest sender computes. */
export const signatureModes = [
  'valid', 'none', 'empty', 'prefix-only', 'zeros', 'truncated', 'extended', 'flipped', 'uppercase', 'bare-hex',
  'base64', 'sha1', 'sha512', 'md5-length', 'other-secret', 'other-body', 'empty-secret', 'leading-space',
  'trailing-space', 'doubled', 'wrong-prefix-case', 'legacy-header-only', 'non-ascii',
] as const;
export type SignatureMode = (typeof signatureModes)[number];

const body = z.union([
  z.object({ json: z.unknown() }),
  z.object({ text }),
  z.object({ base64: z.string() }),
]);
export type CaseBody = z.infer<typeof body>;

const status = z.number().int().min(200).max(599);

const webhookCase = z.object({
  kind: z.literal('webhook'),
  id: z.string(),
  what: z.string(),
  /** Part of the quick subset `npm test` runs (the reliability runner runs every case). */
  quick: z.boolean().default(false),
  provider: z.enum(['builtin', 'github']),
  body,
  signature: z.enum(signatureModes),
  /** Headers to add or (null) remove; `x-ouija-delivery`/`x-github-delivery` default to a fresh ID. */
  headers: z.record(z.string(), z.string().nullable()).default({}),
  /** A 4xx must also leave a `webhook_rejections` row (invariant 8); true unless said otherwise. */
  expect: z.object({ status, logged: z.boolean().optional() }),
});

const apiCase = z.object({
  kind: z.literal('api'),
  id: z.string(),
  what: z.string(),
  /** Part of the quick subset `npm test` runs (the reliability runner runs every case). */
  quick: z.boolean().default(false),
  method: z.enum(['POST', 'GET']),
  /** May use {{boardId}} / {{cardId}}: a board and a card made for the corpus run. */
  path: z.string(),
  body,
  headers: z.record(z.string(), z.string().nullable()).default({}),
  expect: z.object({ status }),
});

/** A card made through the API with hostile text. 201 cases then run end to end to show it neutralised. */
const cardCase = z.object({
  kind: z.literal('card'),
  id: z.string(),
  what: z.string(),
  /** Part of the quick subset `npm test` runs (the reliability runner runs every case). */
  quick: z.boolean().default(false),
  title: text,
  body: text.default(''),
  expect: z.union([
    z.object({ status: z.literal(201), neutralise: z.literal('run') }),
    z.object({ status: z.number().int().min(400).max(499) }),
  ]),
});

/**
 * A board whose repository name is hostile. Either refused (400), or — when the name is a well-formed URL that
 * is merely not allowed — accepted but unable to start any run (`not-allowed`).
 */
const boardCase = z.object({
  kind: z.literal('board'),
  id: z.string(),
  what: z.string(),
  /** Part of the quick subset `npm test` runs (the reliability runner runs every case). */
  quick: z.boolean().default(false),
  repo: text,
  expect: z.union([
    z.object({ status: z.literal(400) }),
    z.object({ status: z.literal(201), neutralise: z.literal('not-allowed') }),
  ]),
});

export const badInputCase = z.discriminatedUnion('kind', [webhookCase, apiCase, cardCase, boardCase]);
export type BadInputCase = z.infer<typeof badInputCase>;
export type WebhookCase = z.infer<typeof webhookCase>;
export type ApiCase = z.infer<typeof apiCase>;
export type CardCase = z.infer<typeof cardCase>;
export type BoardCase = z.infer<typeof boardCase>;

export const corpusFile = z.object({
  description: z.string(),
  cases: z.array(badInputCase),
});
export type CorpusFile = z.infer<typeof corpusFile>;
/** What a fixture may leave out (defaults filled in on load); the generator writes these. */
export type CorpusFileInput = z.input<typeof corpusFile>;
export type BadInputCaseInput = z.input<typeof badInputCase>;
export type CaseBodyInput = z.input<typeof body>;
export type GenInput = z.input<typeof gen>;
