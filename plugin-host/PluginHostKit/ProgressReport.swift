import Foundation
import SluiceSDK
import SluiceWire

/// Progress and stream status: on a terminal, updates of the live ``ProgressBoard`` (while one
/// is shown); otherwise lines on stderr, every status change and progress at most once every two
/// seconds.
final class ProgressReport: Sendable {
    private struct Throttle {
        var lastPrint = Date.distantPast
    }
    private let throttle = LockedBox(Throttle())
    private static let interval: TimeInterval = 2
    /// INCOMPLETE statuses with a reason, held back until another status or the call's end
    /// (``settle(failure:)``): a plugin that fails its call reports its streams INCOMPLETE with
    /// the error's text, then the Error, which the host prints; the text is then said once.
    private let heldBack = LockedBox<[(status: StreamStatus, origin: String?)]>([])

    /// Reports a stream's status change, after `origin` ("source") when several plugins run.
    func status(_ status: StreamStatus, from origin: String? = nil) {
        let board = Diagnostics.board
        board?.status(status)
        // The board shows the phase; a reason still gets a line.
        guard board == nil || !status.message.isEmpty else { return }
        if status.status == .incomplete, !status.message.isEmpty {
            heldBack.withLock { $0.append((status, origin)) }
            return
        }
        settle()
        line(status, from: origin)
    }

    /// Prints the statuses held back, at the end of the call (with the `failure` that ended it,
    /// which its caller reports): a reason that is that failure's own text is left out.
    func settle(failure: (any Error)? = nil) {
        let held = heldBack.withLock { held in
            defer { held.removeAll() }
            return held
        }
        var failureTexts: Set<String> = []
        if case HostError.plugin(let error)? = failure { failureTexts = [error.description, error.message] }
        for (status, origin) in held {
            line(status, from: origin, pointingToError: failureTexts.contains(status.message))
        }
    }

    /// The status line, with its reason or, when the plugin's error (printed after it) says
    /// the same, a pointer to that error.
    private func line(_ status: StreamStatus, from origin: String?, pointingToError: Bool = false) {
        let word: String
        switch status.status {
        case .started: word = "started"
        case .complete: word = "complete"
        case .incomplete: word = "INCOMPLETE"
        case .unspecified: word = "status unknown"
        }
        var fields: [(key: String, value: JSONValue)] = [("status", .string(word.lowercased()))]
        if let origin { fields.append(("origin", .string(origin))) }
        let reason = pointingToError ? " (the plugin's error follows)" : status.message.isEmpty ? "" : ": \(status.message)"
        Diagnostics.line("\(origin.map { "\($0) " } ?? "")stream \(status.stream): \(word)\(reason)",
                         level: status.status == .incomplete ? .warn : .info, stream: status.stream, fields: fields)
    }

    /// Reports `progress`: to the board, else as a line unless one was printed less than two seconds ago.
    func progress(_ progress: StreamProgress) {
        if let board = Diagnostics.board {
            board.set(progress.stream, records: progress.records,
                      estimate: progress.estimatedRecords > 0 ? UInt64(progress.estimatedRecords) : nil)
            return
        }
        let now = Date()
        let due = throttle.withLock { state in
            guard now.timeIntervalSince(state.lastPrint) >= Self.interval else { return false }
            state.lastPrint = now
            return true
        }
        guard due else { return }
        Diagnostics.line(Self.progressLine(progress), stream: progress.stream, fields: [
            ("records", .integer(progress.records)), ("bytes", .integer(progress.bytes)),
            ("estimated_records", .integer(max(progress.estimatedRecords, 0))),
        ])
    }

    /// `progress ns.name: 1200 records, 3.4 kB (~12% of 10000 estimated)`.
    static func progressLine(_ progress: StreamProgress) -> String {
        var line = "progress \(progress.stream): \(progress.records) records, \(bytes(progress.bytes))"
        if progress.estimatedRecords > 0 {
            let percent = min(100, Double(progress.records) * 100 / Double(progress.estimatedRecords))
            line += String(format: " (~%.0f%% of %lld estimated)", percent, progress.estimatedRecords)
        }
        return line
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
