package memory

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultChunkChars is the chunk size Ingest uses by default.
const DefaultChunkChars = 1500

// Chunk splits text (markdown, plain text or code) into pieces of at most
// maxChars characters (runes; DefaultChunkChars if maxChars <= 0), cutting
// at the strongest boundary available:
//
//   - a markdown heading (a line starting with 1–6 '#' and a space, outside
//     code fences) always starts a new chunk;
//   - otherwise consecutive paragraphs (blocks separated by blank lines; a
//     fenced ``` or ~~~ code block counts as one paragraph) are packed into
//     a chunk while they fit;
//   - a paragraph longer than maxChars is cut between lines, and a line
//     longer than maxChars at the last whitespace that fits (or, failing
//     that, at maxChars).
//
// CRLF line endings become LF; chunks have no leading or trailing blank
// lines and trailing spaces; whitespace-only chunks are dropped. Within a
// paragraph the text is unchanged.
func Chunk(text string, maxChars int) []string {
	if maxChars <= 0 {
		maxChars = DefaultChunkChars
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var chunks []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if s := strings.TrimRightFunc(cur.String(), unicode.IsSpace); strings.TrimSpace(s) != "" {
			chunks = append(chunks, strings.TrimLeft(s, "\n"))
		}
		cur.Reset()
		curLen = 0
	}
	for _, b := range paragraphs(text) {
		n := utf8.RuneCountInString(b.text)
		if b.heading && curLen > 0 {
			flush()
		}
		if curLen > 0 && curLen+2+n > maxChars {
			flush()
		}
		if n > maxChars {
			chunks = append(chunks, splitLong(b.text, maxChars)...)
			continue
		}
		if curLen > 0 {
			cur.WriteString("\n\n")
			curLen += 2
		}
		cur.WriteString(b.text)
		curLen += n
	}
	flush()
	return chunks
}

type paragraph struct {
	text    string
	heading bool
}

func isHeading(line string) bool {
	i := 0
	for i < len(line) && i < 7 && line[i] == '#' {
		i++
	}
	return i >= 1 && i <= 6 && (i == len(line) || line[i] == ' ' || line[i] == '\t')
}

func fence(line string) string {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return ""
	}
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(t, f) {
			return f
		}
	}
	return ""
}

// paragraphs splits text into blank-line-separated blocks; headings are
// blocks of their own and fenced code blocks are never split.
func paragraphs(text string) []paragraph {
	var out []paragraph
	var lines []string
	emit := func(heading bool) {
		if len(lines) > 0 {
			s := strings.TrimRightFunc(strings.Join(lines, "\n"), unicode.IsSpace)
			if strings.TrimSpace(s) != "" {
				out = append(out, paragraph{text: s, heading: heading})
			}
			lines = lines[:0]
		}
	}
	inFence := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		if inFence != "" {
			lines = append(lines, line)
			if t := strings.TrimSpace(line); strings.HasPrefix(t, inFence) && strings.Trim(t, inFence[:1]) == "" {
				inFence = ""
			}
			continue
		}
		switch {
		case fence(line) != "":
			emit(false)
			inFence = fence(line)
			lines = append(lines, line)
		case line == "":
			emit(false)
		case isHeading(line):
			emit(false)
			lines = append(lines, line)
			emit(true)
			// A heading's following paragraph joins it in the same chunk
			// (the packer starts a chunk at the heading).
		default:
			lines = append(lines, line)
		}
	}
	emit(false)
	return out
}

// splitLong cuts a paragraph longer than maxChars between lines, and lines
// longer than maxChars at whitespace.
func splitLong(text string, maxChars int) []string {
	var out []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if s := strings.TrimRightFunc(cur.String(), unicode.IsSpace); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
		cur.Reset()
		curLen = 0
	}
	for _, line := range strings.Split(text, "\n") {
		n := utf8.RuneCountInString(line)
		if curLen > 0 && curLen+1+n > maxChars {
			flush()
		}
		if n > maxChars {
			flush()
			out = append(out, splitLine(line, maxChars)...)
			continue
		}
		if curLen > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(line)
		curLen += n
	}
	flush()
	return out
}

// splitLine cuts a line into pieces of at most maxChars runes, at the last
// whitespace within the limit when there is one.
func splitLine(line string, maxChars int) []string {
	var out []string
	for utf8.RuneCountInString(line) > maxChars {
		// byte offset just after maxChars runes
		end, count := 0, 0
		for i := range line {
			if count == maxChars {
				end = i
				break
			}
			count++
		}
		cut := end
		if sp := strings.LastIndexFunc(line[:end], unicode.IsSpace); sp > 0 {
			cut = sp
		}
		if piece := strings.TrimSpace(line[:cut]); piece != "" {
			out = append(out, piece)
		}
		line = strings.TrimLeftFunc(line[cut:], unicode.IsSpace)
	}
	if piece := strings.TrimSpace(line); piece != "" {
		out = append(out, piece)
	}
	return out
}
