package llm

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// oaResponseSeeds are chat completions as servers send them, and the
// shapes decodeFast must leave to encoding/json.
var oaResponseSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how can I help?","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_1"}` + "\n",
	`{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a\\\\b\"}"}},{"id":"call_2","type":"function","function":{"name":"ls","arguments":""}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":64}}}`,
	`{"id":"c","choices":[{"message":{"refusal":"I can't \"do\" that.\n\t/"},"finish_reason":"content_filter"}]}`,
	`{"choices":[]}`,
	`{"choices":null,"usage":null}`,
	`{"choices":[null,{"message":null,"finish_reason":null}],"usage":{"prompt_tokens_details":null,"prompt_tokens":null}}`,
	`{"choices":[{"message":{"content":"a","tool_calls":[]}}],"extra":{"nested":[1,{"x":"}\""},true,false,null,-1.5e3],"k\"ey":2}}`,
	`{"choices":[{"message":{"content":"é ü 日本 \ud83d\ude00"}}]}`,
	"{\"choices\":[{\"message\":{\"content\":\"bad \xff utf8\"}}]}",
	`{"ID":"upper","Model":"m"}`,
	`{"id":"a","id":"b"}`,
	`{"usage":{"prompt_tokens":1.5}}`,
	`{"usage":{"prompt_tokens":1e2}}`,
	`{"usage":{"prompt_tokens":99999999999999999999}}`,
	`{"usage":{"prompt_tokens":-0}}`,
	`{"model":5}`,
	`{"choices":{}}`,
	`{"choices":[{"message":{"tool_calls":[null,{"function":null},{"function":{"name":"x","Name":"y"}}]}}]}`,
	`{"\u0069d":"escaped key"}`,
	`{"id":"x"} {"id":"y"}`,
	`{"id":"x"`,
	`null`,
	`[1]`,
	` { "id" : "spaced" , "choices" : [ { "message" : { "content" : "x" } , "finish_reason" : "stop" } ] } `,
	"{\"usage\":{\"prompt_to\u212aen\u017f\":3}}",
}

// decodeReference is how encoding/json decodes body into an oaResponse.
func decodeReference(body []byte) (oaResponse, error) {
	var r oaResponse
	err := json.Unmarshal(body, &r)
	return r, err
}

// FuzzOAResponseDecode checks the chat completion reader against
// encoding/json: whenever it decodes a body, encoding/json decodes it
// without error into the same value.
func FuzzOAResponseDecode(f *testing.F) {
	for _, s := range oaResponseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return // decodeJSONBody leaves those to encoding/json
		}
		var got oaResponse
		if !got.decodeFast(body) {
			if !reflect.DeepEqual(got, oaResponse{}) {
				t.Fatalf("gave up but left %+v", got)
			}
			return
		}
		want, err := decodeReference(body)
		if err != nil {
			t.Fatalf("decoded %q, but encoding/json fails: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", body, dump(got), dump(want))
		}
	})
}

func dump(r oaResponse) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// TestOAResponseDecodeFast: the common shapes are read without
// encoding/json, the unusual ones are left to it; both give its result.
func TestOAResponseDecodeFast(t *testing.T) {
	fast := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 14: true, 23: true}
	for i, s := range oaResponseSeeds {
		var got oaResponse
		ok := json.Valid([]byte(s)) && got.decodeFast([]byte(s))
		if ok != fast[i] {
			t.Errorf("seed %d %.40q: fast %v, want %v", i, s, ok, fast[i])
		}
		want, werr := decodeReference([]byte(s))
		if ok && (werr != nil || !reflect.DeepEqual(got, want)) {
			t.Errorf("seed %d: %s, want %s (%v)", i, dump(got), dump(want), werr)
		}
		// Through decodeJSONBody: the same value and error as before.
		var via oaResponse
		err := decodeJSONBody(strings.NewReader(s), &via)
		var dec oaResponse
		derr := json.NewDecoder(strings.NewReader(s)).Decode(&dec)
		if (err == nil) != (derr == nil) || !reflect.DeepEqual(via, dec) {
			t.Errorf("seed %d: decodeJSONBody %s, %v; json.Decoder %s, %v", i, dump(via), err, dump(dec), derr)
		}
	}
}

// BenchmarkOAResponseDecode: decoding a plain answer, read directly and
// by encoding/json.
func BenchmarkOAResponseDecode(b *testing.B) {
	body := []byte(oaResponseSeeds[0])
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var r oaResponse
			if !json.Valid(body) || !r.decodeFast(body) {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var r oaResponse
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
