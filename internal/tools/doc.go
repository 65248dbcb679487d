// Package tools provides the built-in tools an agent can call: read_file,
// write_file, edit_file and list_dir (confined to the workspace through
// os.Root), shell_exec (an allow-listed program run without a shell),
// web_fetch (HTTP GET that refuses private and special-purpose addresses by
// checking the resolved IP at connection time), and spawn_agent and
// send_message (over a small Kernel interface declared here).
//
// The package is a lower layer: it imports no other WeftOS package. The
// agent loop wraps every call as
//
//	act, err := tool.Action(env, input)    // validated; describes the governed action
//	// capability check, governance gate on act, …
//	out, err := tool.Run(ctx, env, input)  // validates again, executes
//	// chain record of act and the result
//
// Every tool describes its input with a JSON Schema (a draft 2020-12 subset
// checked by [ValidateInput]) and reports failures as [*ToolError] values
// whose codes match the package's sentinel errors and whose messages are
// written to be fed back to a language model.
package tools
