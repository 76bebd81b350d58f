import Foundation
import SluiceWire

/// The outcome of a successful pipeline: lines for people on stderr, and JSON for stdout:
/// `{"streams": [{"stream", "read", "resumed_from", "written": [per destination], "source_lag_bytes"}], "pipeline_id", "records_read",
/// "duration_seconds", "records_per_second", "source": {"plugin", "summary"},
/// "destinations": [{"plugin", "summary"}], "state_file", "states_saved", "attempts",
/// "skipped": [{"stream", "remedy"}]}`; the
/// counts are those of the last attempt (a retry resumes after what earlier ones committed).
struct PipelineReport {
    let source: PluginSession
    let destinations: [PluginSession]
    let read: Summary
    let written: [Summary]
    let forwarded: [(stream: StreamID, records: UInt64)]
    let seconds: Double
    let statePath: String?
    let statesSaved: Int
    let attempts: Int
    let pipelineID: String
    /// Where each stream resumed.
    let resumed: [(stream: StreamID?, origin: ResumePoints.Origin)]
    /// The discovered streams left out because the source cannot read them.
    let skipped: [SkippedStream]

    private var streams: [StreamID] {
        var seen = Set(forwarded.map(\.stream))
        return forwarded.map(\.stream) + read.streams.map(\.stream).filter { seen.insert($0).inserted }
    }

    private var total: UInt64 { forwarded.reduce(0) { $0 + $1.records } }

    private var rate: Double { Double(total) / max(seconds, 0.001) }

    private func readCount(_ stream: StreamID) -> UInt64 {
        forwarded.first { $0.stream == stream }?.records ?? 0
    }

    /// The change log a CDC source held back for the stream at the end of its Read (0 otherwise).
    private func sourceLag(_ stream: StreamID) -> UInt64 {
        read.streams.first { $0.stream == stream }?.lagBytes ?? 0
    }

    private func writtenCounts(_ stream: StreamID) -> [UInt64] {
        written.map { summary in summary.streams.first { $0.stream == stream }?.records ?? 0 }
    }

    /// One line per stream and a total, on stderr.
    func printLines() {
        for stream in streams {
            let counts = zip(destinations, writtenCounts(stream)).map { "\($1) written to \($0.launch.label ?? "destination")" }
            let lag = sourceLag(stream)
            Diagnostics.line("summary \(stream): \(readCount(stream)) read, " + counts.joined(separator: ", ")
                             + (lag > 0 ? ", source lag \(ProgressReport.bytes(lag))" : ""))
        }
        for stream in skipped { Diagnostics.line("summary: skipped \(stream.line)") }
        Diagnostics.line(String(format: "pipeline: %llu records in %.3f s (%.0f records/s)", total, seconds, rate))
    }

    /// The summary as a short table for a terminal: a row per stream (read, written by each
    /// destination, where it resumed from), then the total and the rate.
    var table: [String] {
        let lags = streams.contains { sourceLag($0) > 0 }
        let header = ["stream", "read"] + destinations.map { "written (\($0.launch.label ?? "destination"))" } + (lags ? ["source lag"] : [])
            + ["resumed from"]
        var rows = [header]
        for stream in streams {
            rows.append([stream.description, ProgressBoard.count(readCount(stream))] + writtenCounts(stream).map(ProgressBoard.count)
                        + (lags ? [ProgressReport.bytes(sourceLag(stream))] : [])
                        + [(resumed.first { $0.stream == stream }?.origin ?? .beginning).rawValue])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { column, cell in
                column == 0 || column == row.count - 1 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        lines.insert(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)), at: 1)
        lines.append("\(ProgressBoard.count(total)) records in \(ProgressBoard.clock(seconds)) (\(ProgressBoard.count(UInt64(rate))) records/s); state file: \(statePath ?? "none")")
        return lines
    }

    /// The JSON summary.
    var json: JSONValue {
        .object([
            ("streams", .array(streams.map { stream in
                .object([
                    ("stream", .string(stream.description)),
                    ("read", .integer(readCount(stream))),
                    ("resumed_from", .string((resumed.first { $0.stream == stream }?.origin ?? .beginning).rawValue)),
                    ("written", .array(writtenCounts(stream).map(JSONValue.integer))),
                    ("source_lag_bytes", .integer(sourceLag(stream))),
                ])
            })),
            ("pipeline_id", .string(pipelineID)),
            ("records_read", .integer(total)),
            ("duration_seconds", .number(String(format: "%.3f", seconds))),
            ("records_per_second", .number(String(format: "%.0f", rate))),
            ("source", .object([("plugin", .string(source.launch.plugin)), ("summary", CatalogJSON.summary(read))])),
            ("destinations", .array(zip(destinations, written).map { destination, summary in
                .object([("plugin", .string(destination.launch.plugin)), ("summary", CatalogJSON.summary(summary))])
            })),
            ("state_file", statePath.map(JSONValue.string) ?? .null),
            ("states_saved", .integer(statesSaved)),
            ("attempts", .integer(UInt64(attempts))),
            ("skipped", .array(skipped.map { .object([("stream", .string($0.stream.description)), ("remedy", .string($0.remedy))]) })),
        ])
    }
}
