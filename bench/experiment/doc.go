// Package experiment runs what is built from many benchmark runs: the
// no-drop rate search ([SearchNDR], [NDR], [NDRSweep]), repeated cases
// condensed to a median and a range ([Summarize]), and their tables and
// charts ([WriteNDRTable], [WriteNDRChart], [WriteSummaryTable],
// [WriteSummaryChart]). A trial is one [bench.Run].
package experiment
