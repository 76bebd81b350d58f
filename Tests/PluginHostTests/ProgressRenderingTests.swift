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
}
