// Package llm is WeftOS's LLM provider layer: lean clients for the OpenAI
// Chat Completions wire protocol (OpenAI and every compatible server: Groq,
// DeepSeek, Mistral, Together, OpenRouter, xAI, Ollama, vLLM, llama.cpp
// server, LM Studio) and for Anthropic's Messages API, behind one neutral
// Provider interface.
//
// Both clients stream over Server-Sent Events when the caller passes an
// onDelta callback, accumulate tool calls (including parallel calls) from
// their streamed fragments, report token usage, retry 408/409/429/5xx and
// connection failures with jittered exponential backoff that honours
// Retry-After, and map vendor error bodies to *APIError values that match
// the sentinels ErrRateLimited, ErrAuth, ErrContextLength and
// ErrUnavailable with errors.Is.
//
// Models are named "provider/model" and resolved by a Registry, which can
// be filled from the standard environment variables (OPENAI_API_KEY,
// OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL) with no config
// file. A Failover provider tries an ordered list of provider/model routes.
//
// API keys come only from an environment variable or from a file that is
// not readable by group or others. They are sent only in the vendor's auth
// header and are redacted from every error and log line.
//
// The package imports no other WeftOS package; the agent loop sees it
// through the Provider interface. Subpackage sse holds the event-stream
// decoder and subpackage llmtest in-process fake servers for tests.
package llm
