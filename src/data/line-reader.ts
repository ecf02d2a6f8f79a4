import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * Yields the lines of a UTF-8 text file in chunks (arrays of lines), with their 1-based line
 * numbers, tolerating CRLF. Faster than `readline` because it hands out many lines per await.
 * A final empty line (the file's trailing newline) is not yielded.
 */
export async function* readLineChunks(
  path: string,
): AsyncGenerator<{ lines: string[]; firstLine: number }> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 1;
  for await (const buf of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const text = carry + decoder.write(buf as Buffer);
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i] as string;
      if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
    }
    if (lines.length > 0) {
      yield { lines, firstLine: lineNo };
      lineNo += lines.length;
    }
  }
  carry += decoder.end();
  if (carry.endsWith('\r')) carry = carry.slice(0, -1);
  if (carry.length > 0) yield { lines: [carry], firstLine: lineNo };
}
