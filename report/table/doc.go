// Package table renders tables as GitHub-flavoured markdown (report.md)
// and as aligned plain text (report query --format table).
//
// Both renderings pad every column to its widest cell, counted in runes,
// so the markdown source reads as a table too. Markdown cells are inline
// markdown (links, code, bold): plain text goes through Escape first, and
// Markdown only keeps each cell on one line and its pipes escaped. Text
// cells are plain; line breaks become spaces.
package table
