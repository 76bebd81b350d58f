import Foundation
import SluiceWire
import Testing
@testable import PluginHostKit

@Suite("plugin-host progress rendering: byte counts and summary lines")
struct ProgressRenderingTests {
    @Test("byte counts use the unit that fits")
    func bytes() {
        #expect(ProgressReport.bytes(0) == "0 bytes")
        #expect(ProgressReport.bytes(999) == "999 bytes")
        #expect(ProgressReport.bytes(1_500) == "1.5 kB")
        #expect(ProgressReport.bytes(12_300_000) == "12.3 MB")
        #expect(ProgressReport.bytes(4_560_000_000) == "4.56 GB")
    }

    @Test("a summary line counts what was written, and mentions unmatched rows and stripped NUL bytes only when there are some")
    func summaryLine() {
        var stream = StreamSummary(stream: StreamID(namespace: "public", name: "orders"))
        stream.records = 10
        stream.bytes = 2_000
        stream.inserted = 7
        stream.updated = 3
        #expect(ProgressReport.summaryLine(stream, durationMicros: 1_500_000, writing: false)
            == "summary public.orders: 10 records, 2.0 kB in 1.500 s")
        #expect(ProgressReport.summaryLine(stream, durationMicros: 1_500_000, writing: true)
            == "summary public.orders: 10 records, 2.0 kB, 7 inserted, 3 updated, 0 deleted in 1.500 s")
        stream.unmatched = 2
        stream.nulBytesStripped = 1
        #expect(ProgressReport.summaryLine(stream, durationMicros: 0, writing: true)
            == "summary public.orders: 10 records, 2.0 kB, 7 inserted, 3 updated, 0 deleted, 2 unmatched, 1 strings with NUL bytes stripped in 0.000 s")
    }

    @Test("the live board: rows, rows/s, share of the estimate and ETA per stream, then the totals with a CDC source's lag")
    func board() {
        let start = Date(timeIntervalSince1970: 1_000)
        var state = ProgressBoard.State(started: start)
        state.rows = [
            ProgressBoard.Row(stream: StreamID(namespace: "public", name: "orders"), records: 25_000, estimate: 100_000, phase: .running,
                              started: start),
            ProgressBoard.Row(stream: StreamID(namespace: "public", name: "users"), records: 1_234, phase: .complete,
                              started: start, finished: start.addingTimeInterval(2)),
            ProgressBoard.Row(stream: StreamID(namespace: "public", name: "t"), estimate: 10),
        ]
        state.committed = 20_000
        state.sourceLag = 12_300_000
        let lines = ProgressBoard.render(state, now: start.addingTimeInterval(10))
        #expect(lines == [
            "public.orders    25,000 rows   2,500 rows/s  25%  ETA 0:30 running",
            "public.users      1,234 rows     617 rows/s done in 0:02",
            "public.t              0 rows                  0%           waiting",
            "total 26,234 rows in 0:10, 2,623 rows/s, 20,000 committed, source lag 12.3 MB, 1/3 streams done",
        ])
    }

    @Test("counts get thousands separators and durations read as a clock")
    func countsAndClock() {
        #expect(ProgressBoard.count(0) == "0")
        #expect(ProgressBoard.count(999) == "999")
        #expect(ProgressBoard.count(1_000) == "1,000")
        #expect(ProgressBoard.count(12_345_678) == "12,345,678")
        #expect(ProgressBoard.clock(7) == "0:07")
        #expect(ProgressBoard.clock(754) == "12:34")
        #expect(ProgressBoard.clock(3_723) == "1:02:03")
    }
}
