import Foundation
import SluiceSDK
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

/// The live display of a run on a terminal (stderr): one row per stream with its rows, rows
/// per second, share of the discovered estimate and time left, then the totals, redrawn in
/// place at most five times a second. Log lines are printed above it (``printAbove(_:)``).
final class ProgressBoard: Sendable {
    /// One stream's progress.
    struct Row: Sendable, Equatable {
        enum Phase: Sendable, Equatable { case waiting, running, complete, incomplete }
        var stream: StreamID
        var records: UInt64 = 0
        /// The source's estimate of the stream's rows; nil when unknown.
        var estimate: UInt64?
        var phase = Phase.waiting
        var started: Date?
        var finished: Date?
    }

    /// Everything drawn.
    struct State: Sendable {
        var rows: [Row] = []
        var started: Date
        /// Records every destination committed (pipelines), when known.
        var committed: UInt64?
        /// Change data capture: the bytes of change log the source holds back, when it reports them.
        var sourceLag: UInt64?
        var drawnLines = 0
        var lastDraw = Date.distantPast
        var finished = false
    }

    private let state: LockedBox<State>
    private let width: Int
    private static let interval: TimeInterval = 0.2

    /// A board for the streams (with their estimates, if known), started now.
    init(streams: [(stream: StreamID, estimate: UInt64?)] = [], width: Int = Terminal.columns(STDERR_FILENO), started: Date = Date()) {
        state = LockedBox(State(rows: streams.map { Row(stream: $0.stream, estimate: $0.estimate) }, started: started))
        self.width = width
    }

    /// Shows a board for `streams` while lines are for people on a terminal (stderr is one, the
    /// format is text, TERM is not `dumb`) and, when `unlessStdoutIsTerminal`, stdout is not the
    /// terminal too (rows printed there would scroll the board away); nil otherwise.
    static func show(streams: [(stream: StreamID, estimate: UInt64?)] = [], unlessStdoutIsTerminal: Bool = false) -> ProgressBoard? {
        guard Diagnostics.format == .text, Terminal.isTerminal(STDERR_FILENO),
              ProcessInfo.processInfo.environment["TERM"] != "dumb",
              !(unlessStdoutIsTerminal && Terminal.isTerminal(STDOUT_FILENO)) else { return nil }
        let board = ProgressBoard(streams: streams)
        Diagnostics.board = board
        board.redraw(force: true)
        return board
    }

    /// Draws the board a last time and lets later lines print below it.
    func close() {
        finish()
        if Diagnostics.board === self { Diagnostics.board = nil }
    }

    // MARK: - Updates

    /// Sets a stream's record count (and its estimate, when the update has one).
    func set(_ stream: StreamID, records: UInt64, estimate: UInt64? = nil) {
        update(stream) { row in
            row.records = records
            if let estimate { row.estimate = estimate }
        }
    }

    /// Adds `records` to a stream's count.
    func add(_ stream: StreamID, records: UInt64) {
        update(stream) { $0.records += records }
    }

    /// A stream's status change.
    func status(_ status: StreamStatus) {
        update(status.stream) { row in
            switch status.status {
            case .started: row.phase = .running
            case .complete: row.phase = .complete
            case .incomplete: row.phase = .incomplete
            case .unspecified: break
            }
        }
    }

    /// The change log the source holds back (change data capture).
    func sourceLag(_ bytes: UInt64) {
        state.withLock { $0.sourceLag = bytes }
        redraw(force: false)
    }

    /// The records every destination committed so far.
    func committed(_ records: UInt64) {
        state.withLock { $0.committed = records }
        redraw(force: false)
    }

    private func update(_ stream: StreamID, _ change: (inout Row) -> Void) {
        let now = Date()
        state.withLock { state in
            let index = state.rows.firstIndex { $0.stream == stream } ?? {
                state.rows.append(Row(stream: stream))
                return state.rows.count - 1
            }()
            var row = state.rows[index]
            change(&row)
            if row.started == nil, row.phase != .waiting || row.records > 0 {
                row.started = now
                if row.phase == .waiting { row.phase = .running }
            }
            if row.finished == nil, row.phase == .complete || row.phase == .incomplete { row.finished = now }
            state.rows[index] = row
        }
        redraw(force: false)
    }

    // MARK: - Drawing

    /// Prints `text` above the board, which is redrawn below it.
    func printAbove(_ text: String) {
        draw(above: text, force: true)
    }

    /// Redraws the board (at most five times a second unless `force`).
    func redraw(force: Bool) {
        draw(above: nil, force: force)
    }

    /// Draws the board one last time and leaves it on the screen; later lines go below it.
    func finish() {
        draw(above: nil, force: true)
        state.withLock { $0.finished = true }
    }

    /// Draws under the lock, so that concurrent updates and log lines reach the terminal in
    /// the order their cursor movements assume.
    private func draw(above: String?, force: Bool) {
        let now = Date()
        state.withLock { state in
            var text = ""
            if state.finished {
                guard let above else { return }
                text = above + "\n"
            } else {
                guard force || now.timeIntervalSince(state.lastDraw) >= Self.interval else { return }
                let lines = Self.render(state, now: now).map { Self.fit($0, width) }
                if state.drawnLines > 0 { text = "\u{1B}[\(state.drawnLines)F\u{1B}[J" }
                if let above { text += above + "\n" }
                text += lines.map { $0 + "\n" }.joined()
                state.drawnLines = lines.count
                state.lastDraw = now
            }
            try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
        }
    }

    /// `line` cut to fit `width` columns (a wrapped line would throw the redraw off).
    private static func fit(_ line: String, _ width: Int) -> String {
        line.count < width ? line : String(line.prefix(max(width - 2, 10))) + "…"
    }

    /// The board's lines at `now`: a row per stream, then the totals.
    static func render(_ state: State, now: Date) -> [String] {
        let nameWidth = min(max(state.rows.map { $0.stream.description.count }.max() ?? 0, 6), 40)
        var lines = state.rows.map { row -> String in
            let name = row.stream.description.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            var parts = [name, pad(count(row.records) + " rows", 14)]
            let elapsed = row.started.map { (row.finished ?? now).timeIntervalSince($0) } ?? 0
            let rate = elapsed > 0 ? Double(row.records) / elapsed : 0
            parts.append(pad(row.started == nil ? "" : count(UInt64(rate)) + " rows/s", 14))
            if row.phase == .complete || row.phase == .incomplete {
                // A finished row needs no share or ETA: its phase takes their place.
            } else if let estimate = row.estimate, estimate > 0 {
                let share = min(100, Double(row.records) * 100 / Double(estimate))
                parts.append(pad(String(format: "%3.0f%%", share), 4))
                let left = estimate > row.records && rate > 0 ? Double(estimate - row.records) / rate : nil
                parts.append(pad(left.map { "ETA " + clock($0) } ?? "", 9))
            } else {
                parts.append(pad("", 4))
                parts.append(pad("", 9))
            }
            switch row.phase {
            case .waiting: parts.append("waiting")
            case .running: parts.append("running")
            case .complete: parts.append("done in " + clock(elapsed))
            case .incomplete: parts.append("INCOMPLETE")
            }
            return parts.joined(separator: " ")
        }
        let total = state.rows.reduce(UInt64(0)) { $0 + $1.records }
        let elapsed = now.timeIntervalSince(state.started)
        let done = state.rows.filter { $0.phase == .complete }.count
        var totals = "total \(count(total)) rows in \(clock(elapsed))"
        if elapsed > 0 { totals += ", \(count(UInt64(Double(total) / elapsed))) rows/s" }
        if let committed = state.committed { totals += ", \(count(committed)) committed" }
        if let lag = state.sourceLag { totals += ", source lag \(ProgressReport.bytes(lag))" }
        totals += ", \(done)/\(state.rows.count) streams done"
        lines.append(totals)
        return lines
    }

    /// `1,234,567`.
    static func count(_ value: UInt64) -> String {
        let digits = String(value)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    /// `0:07`, `12:34`, `1:02:03`.
    static func clock(_ seconds: TimeInterval) -> String {
        let total = Int(max(0, min(seconds, 359_999)).rounded())
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
