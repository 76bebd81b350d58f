@testable import PluginHostKit
import SluiceWire
import Testing

/// The rule of a State marked `stream_complete` (PROTOCOL.md §4.4 rule 3), as hosts check it.
@Suite struct StreamEndingsTests {
    let orders = StreamID(namespace: "sales", name: "orders")
    let items = StreamID(namespace: "sales", name: "items")

    @Test func nothingOfAStreamAfterItsLastStateButOtherStreamsGoOn() {
        var endings = StreamEndings()
        #expect(endings.violation(State(id: 1, stream: orders, data: [])) == nil)
        #expect(endings.violation(batchOf: orders) == nil)
        #expect(endings.violation(State(id: 2, stream: orders, data: [], streamComplete: true)) == nil)
        #expect(endings.violation(batchOf: orders) == "a RecordBatch of sales.orders came after its State marked stream_complete")
        #expect(endings.violation(State(id: 3, stream: orders, data: [])) == "a State of sales.orders came after its State marked stream_complete")
        #expect(endings.violation(batchOf: items) == nil)
        #expect(endings.violation(State(id: 4, stream: items, data: [])) == nil)
        #expect(endings.violation(State(id: 5, stream: nil, data: [])) == nil)
    }

    @Test func aGlobalStateCannotBeMarked() {
        var endings = StreamEndings()
        #expect(endings.violation(State(id: 1, stream: nil, data: [], streamComplete: true))
            == "a global State is marked stream_complete (only a stream's State may be)")
    }
}
