import Foundation
import SluiceWire

/// Progress and stream status lines on stderr: every status change, and progress at most
/// once every two seconds.
final class ProgressReport: Sendable {
    private struct Throttle {
        var lastPrint = Date.distantPast
    }
    private let throttle = LockedValue(Throttle())
    private static let interval: TimeInterval = 2

    /// Prints a stream's status change, after `origin` ("source") when several plugins run.
    func status(_ status: StreamStatus, from origin: String? = nil) {
        let word: String
        switch status.status {
        case .started: word = "started"
        case .complete: word = "complete"
        case .incomplete: word = "INCOMPLETE"
        case .unspecified: word = "status unknown"
        }
        Diagnostics.line("\(origin.map { "\($0) " } ?? "")stream \(status.stream): \(word)\(status.message.isEmpty ? "" : ": \(status.message)")")
    }

    /// Prints `progress` unless a progress line was printed less than two seconds ago.
    func progress(_ progress: StreamProgress) {
        let now = Date()
        let due = throttle.withLock { state in
            guard now.timeIntervalSince(state.lastPrint) >= Self.interval else { return false }
            state.lastPrint = now
            return true
        }
        guard due else { return }
        var line = "progress \(progress.stream): \(progress.records) records, \(Self.bytes(progress.bytes))"
        if progress.estimatedRecords > 0 {
            let percent = min(100, Double(progress.records) * 100 / Double(progress.estimatedRecords))
            line += String(format: " (~%.0f%% of %lld estimated)", percent, progress.estimatedRecords)
        }
        Diagnostics.line(line)
    }

    /// The final line of one stream of a summary.
    static func summaryLine(_ stream: StreamSummary, durationMicros: UInt64, writing: Bool) -> String {
        var parts = ["\(stream.records) records", bytes(stream.bytes)]
        if writing {
            parts += ["\(stream.inserted) inserted", "\(stream.updated) updated", "\(stream.deleted) deleted"]
            if stream.unmatched > 0 { parts.append("\(stream.unmatched) unmatched") }
        }
        if stream.nulBytesStripped > 0 { parts.append("\(stream.nulBytesStripped) strings with NUL bytes stripped") }
        return "summary \(stream.stream): " + parts.joined(separator: ", ")
            + String(format: " in %.3f s", Double(durationMicros) / 1_000_000)
    }

    /// `12.3 MB`-style byte counts.
    static func bytes(_ count: UInt64) -> String {
        switch count {
        case ..<1_000: "\(count) bytes"
        case ..<1_000_000: String(format: "%.1f kB", Double(count) / 1e3)
        case ..<1_000_000_000: String(format: "%.1f MB", Double(count) / 1e6)
        default: String(format: "%.2f GB", Double(count) / 1e9)
        }
    }
}
