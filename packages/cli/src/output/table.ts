/** Lays out rows as aligned columns, two spaces apart, the header first; trailing blanks trimmed. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

// Columns line up by the characters a terminal shows, not by UTF-16 units
// (the demo's check marks are one column wide).
function width(text: string): number {
  return [...text].length;
}
