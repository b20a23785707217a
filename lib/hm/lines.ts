/**
 * Streams a text file as batches of physical lines (bounded memory), the way Spark reads CSV
 * with `multiLine=false`: one record per line, `\n` or `\r\n` endings, a final line without
 * newline still counts. `.gz` files are decompressed on the fly.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

export interface LineBatch {
  /** 1-based line number of lines[0]. */
  firstLine: number;
  lines: string[];
}

export async function* readLineBatches(path: string, batchSize = 16_384): AsyncGenerator<LineBatch> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const source = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let lineNo = 1;
  let batch: string[] = [];
  let batchFirst = 1;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const text = carry + decoder.decode(chunk, { stream: true });
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (batch.length === 0) batchFirst = lineNo;
        batch.push(text.slice(start, end));
        lineNo++;
        start = nl + 1;
        if (batch.length >= batchSize) {
          yield { firstLine: batchFirst, lines: batch };
          batch = [];
        }
      }
      carry = text.slice(start);
    }
    carry += decoder.decode();
    if (carry.length > 0) {
      if (batch.length === 0) batchFirst = lineNo;
      batch.push(carry.endsWith('\r') ? carry.slice(0, -1) : carry);
    }
    if (batch.length > 0) yield { firstLine: batchFirst, lines: batch };
  } finally {
    file.destroy();
  }
}

/**
 * A copy of a string that does not keep its source alive: a field split from a line is a view
 * into the whole 1 MB read chunk, and keeping millions of those as keys would keep the file.
 */
export function detach(text: string): string {
  return (' ' + text).slice(1);
}
