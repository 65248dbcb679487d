// Package embed turns text into vectors for WeftOS's semantic memory.
//
// An Embedder has a stable Name (stored with the memory index, so a store
// opened with a different embedder is detected), a fixed dimension and a
// batch Embed method. Three implementations are provided:
//
//   - Lexical, the built-in offline default: hashed word unigrams and
//     bigrams plus character 3–5-grams, sublinear tf weighting, signed
//     feature hashing into 384 dimensions, L2-normalised. It is LEXICAL, not
//     semantic: texts are close when they share words and word fragments,
//     not when they mean the same thing with different words. It needs no
//     server and no model, and is deterministic across platforms.
//   - OpenAI, a client of the OpenAI-compatible POST /v1/embeddings endpoint
//     (OpenAI, Ollama's /v1, vLLM, LM Studio, llama.cpp server, …).
//   - Ollama, a client of Ollama's native POST /api/embed endpoint.
//
// The HTTP clients batch inputs, retry 429 and 5xx answers and connection
// failures with exponential backoff that honours Retry-After (the sleep is
// injectable, so tests never wait), and return *APIError values that match
// the sentinels ErrRateLimited, ErrAuth, ErrBadRequest and ErrUnavailable
// with errors.Is. API keys come from an environment variable or from a file
// that is not readable by group or others; they are sent only in the
// Authorization header and are redacted from every error and log line.
//
// The package imports no other WeftOS package.
package embed
