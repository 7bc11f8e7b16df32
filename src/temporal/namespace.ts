/**
 * Makes a namespace ready for Ouija: registered (if missing) and carrying Ouija's custom search attributes.
 * `ouija dev` gets both from the dev server's flags; a real cluster or an extra namespace gets them here.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from './search-attributes';

const ALREADY_EXISTS = 6;

type NamespaceAdmin = Pick<Connection, 'workflowService' | 'operatorService'>;

export async function ensureNamespace(connection: NamespaceAdmin, namespace: string, retentionDays = 3): Promise<void> {
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`),
    });
  } catch (err) {
    if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
  }
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
}

/** A namespace registered a moment ago may not serve yet: poll until it describes. */
export async function waitForNamespace(connection: NamespaceAdmin, namespace: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const DEADLINE_EXCEEDED = 4;
/** "Context timeout is too short": the client retried a poll until too little of its deadline was left. */
const FAILED_PRECONDITION = 9;
const PROBE_TYPE = 'ouija-namespace-probe';

/**
 * Waits until the namespace is usable the way Ouija uses it, on any server. A real server's services each cache
 * namespaces and refresh them every few seconds (`system.namespaceCacheRefreshInterval`), and on SQL visibility a
 * custom search attribute is an alias kept in the namespace: just after registerNamespace/addSearchAttributes,
 * describeNamespace and listSearchAttributes (read from the database) already show everything while the
 * frontend still rejects the attributes and the history service still fails a workflow task that upserts them.
 * So this probes the paths themselves: a workflow started with Ouija's search attributes (frontend), one workflow
 * task that upserts them and completes, answered here over raw gRPC (matching, then history), and a visibility query
 * on all of them that finds it. Each refusal is retried until `timeoutMs`. The probes are then deleted, best effort:
 * the server accepts the delete, but SQL visibility was seen listing the completed probe 30 s later. A probe is no
 * `cardWorkflow` and its attributes hold no card's values, so Ouija's queries never count it.
 */
export async function waitForNamespaceReady(connection: Pick<Connection, 'workflowService' | 'withDeadline'>, namespace: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const { workflowService: ws } = connection;
  const identity = `ouija-namespace-probe@${process.pid}`;
  const probeValue = 'ouija-probe';
  const searchAttributes = { indexedFields: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, defaultPayloadConverter.toPayload(probeValue)])) };
  const query = Object.keys(SEARCH_ATTRIBUTES).map((name) => `${name} = '${probeValue}'`);
  const code = (err: unknown) => (err as { code?: number }).code;
  let lastError: unknown = null;
  const retryable = (err: unknown) => {
    lastError = err;
    if (![INVALID_ARGUMENT, NOT_FOUND, DEADLINE_EXCEEDED, FAILED_PRECONDITION].includes(code(err) ?? -1)) throw err;
  };
  const pause = () => new Promise((resolve) => setTimeout(resolve, 100));
  // A long poll needs a few seconds of deadline (the frontend refuses shorter ones: "Context timeout is too short").
  while (deadline - Date.now() > 5_000) {
    const workflowId = `${PROBE_TYPE}-${randomUUID()}`;
    const taskQueue = { name: workflowId, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL };
    try {
      await ws.startWorkflowExecution({
        namespace, workflowId, identity, requestId: randomUUID(), taskQueue, searchAttributes,
        workflowType: { name: PROBE_TYPE }, workflowRunTimeout: msToTs('1 minute'), workflowTaskTimeout: msToTs('10 seconds'),
      });
    } catch (err) {
      retryable(err); // the frontend does not know the namespace or an attribute yet
      await pause();
      continue;
    }
    let completed = false;
    try {
      const task = await connection.withDeadline(Math.min(deadline, Date.now() + 10_000), () => ws.pollWorkflowTaskQueue({ namespace, taskQueue, identity }));
      if (task.taskToken?.length) {
        await ws.respondWorkflowTaskCompleted({
          namespace, identity, taskToken: task.taskToken,
          commands: [
            { commandType: temporal.api.enums.v1.CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsertWorkflowSearchAttributesCommandAttributes: { searchAttributes } },
            { commandType: temporal.api.enums.v1.CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} },
          ],
        });
        completed = true;
      }
    } catch (err) {
      retryable(err); // history does not know an attribute yet: the task failed (BadSearchAttributes)
    }
    if (!completed) {
      // Deleting a running workflow terminates it first: no probe is left behind, in history or visibility.
      await ws.deleteWorkflowExecution({ namespace, workflowExecution: { workflowId } }).catch(() => undefined);
      await pause();
      continue;
    }
    // Visibility is written after the fact: wait for the record, through a query on every attribute.
    while (Date.now() < deadline) {
      try {
        const found = await ws.listWorkflowExecutions({ namespace, pageSize: 1, query: [`WorkflowId = '${workflowId}'`, ...query, `ExecutionStatus = 'Completed'`].join(' AND ') });
        if (found.executions?.length) {
          await ws.deleteWorkflowExecution({ namespace, workflowExecution: { workflowId } }).catch(() => undefined);
          return;
        }
      } catch (err) {
        retryable(err);
      }
      await pause();
    }
  }
  throw new Error(`namespace ${namespace} is not usable after ${timeoutMs} ms: ${(lastError as Error | null)?.message ?? 'no answer'}`);
}
