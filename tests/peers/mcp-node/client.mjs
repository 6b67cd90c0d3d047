// Warden MCP test peer: drives an MCP server with the official TypeScript SDK client.
//
// usage:
//   node client.mjs http <mcpUrl> <bearerToken> <stepsJson>
//   node client.mjs stdio <stepsJson> -- <command> [args...]
//
// <stepsJson> is ONE argument holding a JSON array of steps:
//   {"op":"list"}                                               -> result: tool names, in server order
//   {"op":"list_full"}                                          -> result: the tools array from listTools()
//   {"op":"call","name":"...","arguments":{...},"meta":{...}}   -> result: the CallToolResult
//   {"op":"wait_notification","method":"...","timeout_ms":N}    -> result: the params of the first such notification
//                                                                  since connecting (waits for it up to timeout_ms)
//
// MCP_PEER_CAPABILITIES, when set, is the JSON of the client capabilities to declare (for example
// {"elicitation":{"url":{}}}); by default the client declares none.
//
// stdout gets exactly one line of JSON:
//   {"connected":true,"steps":[{"ok":true,"result":...} | {"ok":false,"error":{name,type,code,message[,data]}}, ...]}
//   {"connected":false,"error":{name,type,code,message}}
// Both exit 0. Bad usage (arguments, stepsJson) exits 2 with a message on stderr and nothing on stdout.
// All diagnostics go to stderr. Set MCP_PEER_FORWARD_STDERR=1 to forward a stdio server's stderr live;
// otherwise its last 16 KiB are kept and written to stderr only if connecting fails.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitationCompleteNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const USAGE =
  'usage:\n' +
  '  node client.mjs http <mcpUrl> <bearerToken> <stepsJson>\n' +
  '  node client.mjs stdio <stepsJson> -- <command> [args...]\n';

function usageError(message) {
  process.stderr.write(`mcp-node-peer: ${message}\n${USAGE}`);
  process.exit(2);
}

function diag(message) {
  process.stderr.write(`mcp-node-peer: ${message}\n`);
}

// Error -> {name, type, code, message}. `name` is e.name as thrown (McpError sets 'McpError';
// StreamableHTTPError does not set it, so its name is 'Error'); `type` is the constructor name,
// which tells StreamableHTTPError / UnauthorizedError / McpError apart.
function describeError(e) {
  if (e instanceof Error) {
    return {
      name: e.name,
      type: e.constructor?.name ?? null,
      code: e.code ?? null,
      message: e.message,
      // An McpError's data (a URL elicitation's elicitations), when it has some.
      ...(e.data !== undefined ? { data: e.data } : {}),
    };
  }
  return { name: 'NonError', type: typeof e, code: null, message: String(e) };
}

function parseSteps(text) {
  let steps;
  try {
    steps = JSON.parse(text);
  } catch (e) {
    usageError(`stepsJson is not valid JSON: ${e.message}`);
  }
  if (!Array.isArray(steps)) usageError('stepsJson must be a JSON array');
  steps.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) usageError(`step ${i} is not an object`);
    if (!['list', 'list_full', 'call', 'wait_notification'].includes(s.op)) usageError(`step ${i} has unknown op ${JSON.stringify(s.op)}`);
    if (s.op === 'call' && typeof s.name !== 'string') usageError(`step ${i} (call) needs a string "name"`);
    if (s.op === 'wait_notification' && s.method !== ElicitationCompleteNotificationSchema.shape.method.value) {
      usageError(`step ${i} (wait_notification) waits only for ${ElicitationCompleteNotificationSchema.shape.method.value}`);
    }
  });
  return steps;
}

// Write the one line of JSON, then exit once stdout has flushed (also guards against open sockets).
function finish(output) {
  process.stdout.write(JSON.stringify(output) + '\n', () => process.exit(0));
}

const [mode, ...rest] = process.argv.slice(2);
let transport;
let steps;
let serverStderrTail = '';

if (mode === 'http') {
  if (rest.length !== 3) usageError('http mode takes exactly <mcpUrl> <bearerToken> <stepsJson>');
  const [mcpUrl, token, stepsJson] = rest;
  steps = parseSteps(stepsJson);
  let url;
  try {
    url = new URL(mcpUrl);
  } catch {
    usageError(`not a URL: ${mcpUrl}`);
  }
  transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: 'Bearer ' + token } },
  });
} else if (mode === 'stdio') {
  const sep = rest.indexOf('--');
  if (sep !== 1 || rest.length < 3) usageError('stdio mode takes <stepsJson> -- <command> [args...]');
  steps = parseSteps(rest[0]);
  const [command, ...args] = rest.slice(2);
  transport = new StdioClientTransport({
    command,
    args,
    env: { ...process.env }, // passing env replaces the SDK's minimal default env; keep PATH, DOTNET_ROOT, ...
    stderr: 'pipe',
  });
  const forward = process.env.MCP_PEER_FORWARD_STDERR === '1';
  // transport.stderr exists before start() (a PassThrough), so attach now to never block the child.
  transport.stderr?.on('data', (chunk) => {
    const s = chunk.toString();
    if (forward) process.stderr.write(s);
    serverStderrTail = (serverStderrTail + s).slice(-16 * 1024);
  });
} else {
  usageError(`unknown mode ${JSON.stringify(mode ?? '')}`);
}

let capabilities = {};
if (process.env.MCP_PEER_CAPABILITIES) {
  try {
    capabilities = JSON.parse(process.env.MCP_PEER_CAPABILITIES);
  } catch (e) {
    usageError(`MCP_PEER_CAPABILITIES is not valid JSON: ${e.message}`);
  }
}

const client = new Client({ name: 'warden-e2e-node', version: '1.0.0' }, { capabilities });
// Notifications the steps may wait for, kept from the start so none is missed between steps.
const notifications = [];
const waiters = [];
client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
  notifications.push(n);
  waiters.splice(0).forEach((w) => w());
});
function nextNotification(method, timeoutMs) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const i = notifications.findIndex((n) => n.method === method);
      if (i < 0) return false;
      resolve(notifications.splice(i, 1)[0].params);
      return true;
    };
    if (check()) return;
    const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
    const wait = () => (check() ? clearTimeout(timer) : waiters.push(wait));
    waiters.push(wait);
  });
}
// Non-fatal transport errors (e.g. the optional GET SSE stream being refused) land here.
client.onerror = (e) => diag(`client error: ${e?.message ?? e}`);

try {
  await client.connect(transport);
} catch (e) {
  diag(`connect failed: ${e?.message ?? e}${e?.cause ? ` (cause: ${e.cause.code ?? e.cause.message ?? e.cause})` : ''}`);
  if (serverStderrTail) diag(`server stderr (tail):\n${serverStderrTail}`);
  try {
    await client.close();
  } catch {
    /* ignore */
  }
  finish({ connected: false, error: describeError(e) });
  // finish() exits; stop here so nothing else runs meanwhile.
  await new Promise(() => {});
}

const results = [];
for (const step of steps) {
  try {
    let result;
    switch (step.op) {
      case 'list':
        result = (await client.listTools()).tools.map((t) => t.name);
        break;
      case 'list_full':
        result = (await client.listTools()).tools;
        break;
      case 'call': {
        const params = { name: step.name, arguments: step.arguments ?? {} };
        if (step.meta !== undefined) params._meta = step.meta;
        result = await client.callTool(params);
        break;
      }
      case 'wait_notification':
        result = await nextNotification(step.method, step.timeout_ms ?? 10000);
        break;
    }
    results.push({ ok: true, result });
  } catch (e) {
    diag(`step ${results.length} (${step.op}${step.name ? ' ' + step.name : ''}) failed: ${e?.message ?? e}`);
    results.push({ ok: false, error: describeError(e) });
  }
}

try {
  await client.close();
} catch (e) {
  diag(`close failed: ${e?.message ?? e}`);
}
finish({ connected: true, steps: results });
