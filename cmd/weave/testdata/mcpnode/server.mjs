// An MCP server on stdio written with the official TypeScript SDK, for an
// agent definition's mcp_servers (cmd/weave/e2e_mcp_test.go): shout
// upper-cases its text; where reports the working directory.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "ts-fixture", version: "1.0.0" });
server.registerTool(
  "shout",
  { description: "Upper-cases its text", inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: "text", text: text.toUpperCase() + "!" }] }),
);
server.registerTool(
  "where",
  { description: "The server's working directory", inputSchema: {} },
  async () => ({ content: [{ type: "text", text: process.cwd() }] }),
);
await server.connect(new StdioServerTransport());
