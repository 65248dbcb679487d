// The official TypeScript MCP SDK's client against `weave mcp serve
// --stdio` (run by cmd/weave/e2e_mcp_test.go): it lists the tools, calls
// read_file, the WASM tool echo and ask_agent, reads the memory resource,
// and prints what it saw as one JSON object.
//
// usage: node client.mjs WEAVE HOME WORKSPACE
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [weave, home, workspace] = process.argv.slice(2);
const transport = new StdioClientTransport({
  command: weave,
  args: ["mcp", "serve", "--stdio", "--home", home, "--workspace", workspace],
  stderr: "inherit",
});
const client = new Client({ name: "weftos-interop", version: "1.0.0" });
await client.connect(transport);

const text = (res) => res.content.filter((c) => c.type === "text").map((c) => c.text).join("");
const out = { server: client.getServerVersion() };
out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
const read = await client.callTool({ name: "read_file", arguments: { path: "notes.txt" } });
out.read_file = { text: text(read), is_error: !!read.isError };
const outside = await client.callTool({ name: "read_file", arguments: { path: "../../etc/passwd" } });
out.outside = { is_error: !!outside.isError };
const echo = await client.callTool({ name: "echo", arguments: { text: "interop" } });
out.echo = { text: text(echo), is_error: !!echo.isError };
const ask = await client.callTool({ name: "ask_agent", arguments: { message: "hi" } });
out.ask_agent = { text: text(ask), is_error: !!ask.isError };
const mem = await client.readResource({ uri: "weftos://memory/search/launch" });
out.memory = { contents: mem.contents.length };
await client.close();
console.log(JSON.stringify(out));
