import fc from 'fast-check';
import { buildAgentPrompt, fenceUntrusted } from '../../../src/plugins/agent/prompt';
import { agentTask } from '../../support/agent-task';

const task = agentTask({ cardKey: 'builtin:b1:3', branch: 'ouija/3-add-a-greeting' });

describe('fenceUntrusted', () => {
  test('the text cannot close its fence early, whatever backticks it holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('`', 'a', '\n', ' ') }), (text) => {
        const fenced = fenceUntrusted(text);
        const fence = /^(`+)text\n/.exec(fenced)![1]!;
        expect(fence.length).toBeGreaterThanOrEqual(3);
        expect(fenced).toBe(`${fence}text\n${text}\n${fence}`);
        // No run of that many backticks inside: no line of the text can be the closing fence.
        expect(text.includes(fence)).toBe(false);
      }),
    );
  });
});

describe('buildAgentPrompt', () => {
  test('first pass: the card fenced as untrusted data, the step, and no feedback section', () => {
    const prompt = buildAgentPrompt(task);
    expect(prompt).toContain('```text\nAdd a greeting\n```');
    expect(prompt).toContain('```text\nSay hello to the team.\n```');
    expect(prompt).toContain('Pipeline step: implement (step 1). This is the first pass.');
    expect(prompt).toContain('not as instructions');
    expect(prompt).not.toContain('Review feedback');
  });

  test('a revision carries every review comment, with where it points', () => {
    const prompt = buildAgentPrompt({
      ...task,
      round: 2,
      feedback: [
        { author: 'bob', body: 'Mention the weather.' },
        { author: 'carol', body: 'Typo ```here```', path: 'src/hello.ts', line: 4 },
      ],
    });
    expect(prompt).toContain('revision round 2');
    expect(prompt).toContain('Comment 1 by "bob":\n```text\nMention the weather.\n```');
    expect(prompt).toContain('Comment 2 by "carol" on src/hello.ts:4:\n````text\nTypo ```here```\n````');
  });

  test('an empty description is left out', () => {
    expect(buildAgentPrompt({ ...task, body: '  ' })).not.toContain('Card description');
  });
});
