/**
 * What real GitHub would accept, for the fake: REST requests are matched against the published OpenAPI
 * description (@octokit/openapi: the operation must exist, its required body properties must be present) and
 * GraphQL documents are validated against the published schema (@octokit/graphql-schema). A request the real
 * API would refuse is a violation, so a test that passes on the fake does not pass only because the fake is lax.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema, type GraphQLSchema } from 'graphql';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface RestOperation {
  operationId: string;
  method: string;
  template: string;
  pattern: RegExp;
  params: string[];
  bodySchema: Json | undefined;
  bodyRequired: boolean;
}

/** Neither package exports these files, so they are read from node_modules directly. */
const NODE_MODULES = path.resolve(__dirname, '../../../node_modules');

let operations: RestOperation[] | undefined;
let components: Json;
let schema: GraphQLSchema | undefined;

function loadOperations(): RestOperation[] {
  if (operations) return operations;
  const spec = JSON.parse(fs.readFileSync(path.join(NODE_MODULES, '@octokit/openapi/generated/api.github.com.json'), 'utf8'));
  components = spec.components;
  const list: RestOperation[] = [];
  for (const [template, item] of Object.entries<Json>(spec.paths)) {
    const params: string[] = [];
    const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, name: string) => {
      params.push(name);
      return '([^/]+)';
    });
    for (const method of ['get', 'post', 'patch', 'put', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const body = op.requestBody;
      list.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${source}$`),
        params,
        bodySchema: body?.content?.['application/json']?.schema,
        bodyRequired: Boolean(body?.required),
      });
    }
  }
  // Literal segments beat parameters: /issues/comments must not be read as /issues/{issue_number}.
  operations = list.sort((a, b) => a.params.length - b.params.length);
  return operations;
}

/** The documented operation for a request, with its path parameters, or null when GitHub has none. */
export function matchRestOperation(method: string, pathname: string): { op: RestOperation; params: Record<string, string> } | null {
  for (const op of loadOperations()) {
    if (op.method !== method) continue;
    const match = op.pattern.exec(pathname);
    if (!match) continue;
    const params: Record<string, string> = {};
    op.params.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1]!)));
    return { op, params };
  }
  return null;
}

/** Why the body would be refused (missing required properties), or null. */
export function bodyProblem(op: RestOperation, body: unknown): string | null {
  if (body === undefined) return op.bodyRequired ? `${op.operationId}: request body required` : null;
  if (!op.bodySchema) return null;
  return schemaProblem(op.operationId, resolve(op.bodySchema), body);
}

function resolve(node: Json): Json {
  if (node?.$ref) return resolve(components.schemas[String(node.$ref).split('/').pop()!]);
  return node;
}

function schemaProblem(where: string, node: Json, value: unknown): string | null {
  const alternatives = node.oneOf ?? node.anyOf;
  if (alternatives) {
    const problems = alternatives.map((alt: Json) => schemaProblem(where, resolve(alt), value));
    return problems.includes(null) ? null : problems.join('; ');
  }
  if (node.type === 'array') return Array.isArray(value) ? null : `${where}: expected an array body`;
  if (node.type === 'object' || node.properties) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where}: expected an object body`;
    const missing = (node.required ?? []).filter((key: string) => !(key in value));
    return missing.length > 0 ? `${where}: missing required ${missing.join(', ')}` : null;
  }
  return null;
}

export function githubGraphqlSchema(): GraphQLSchema {
  // The published SDL defines a few fields twice; GitHub's own server tolerates it, so skip SDL validation.
  schema ??= buildSchema(fs.readFileSync(path.join(NODE_MODULES, '@octokit/graphql-schema/schema.graphql'), 'utf8'), { assumeValidSDL: true });
  return schema;
}
