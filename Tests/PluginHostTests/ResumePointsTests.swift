@testable import PluginHostKit
import SluiceWire
import Testing

/// Where a pipeline's streams resume with several destinations, and the warning for those that
/// had committed more than that point (PROTOCOL.md §8.1).
@Suite struct ResumePointsTests {
    let orders = StreamID(namespace: "sales", name: "orders")
    let items = StreamID(namespace: "sales", name: "items")

    func state(_ id: UInt64, _ stream: StreamID?, _ text: String) -> State {
        State(id: id, stream: stream, data: Array(text.utf8))
    }

    func catalog(_ mode: WriteMode) -> ConfiguredCatalog {
        ConfiguredCatalog(streams: [orders, items].map { id in
            ConfiguredStream(schema: StreamSchema(stream: id, columns: []), writeMode: mode)
        })
    }

    @Test func theOldestPointWinsAndTheDestinationsAheadAreNamed() {
        let behind = CommittedStates(states: [state(3, orders, "key 30"), state(4, items, "key 7")])
        let ahead = CommittedStates(states: [state(5, orders, "key 50"), state(4, items, "key 7")])
        let points = ResumePoints(streams: [orders, items], saved: [], reports: [behind, ahead])
        #expect(points.states == [state(3, orders, "key 30"), state(4, items, "key 7")])
        #expect(points.ahead.map(\.stream) == [orders])
        #expect(points.ahead.map(\.destinations) == [[1]])
        let warnings = points.aheadWarnings(destinations: [("warehouse", catalog(.append)), ("lake", catalog(.append))])
        #expect(warnings == ["pipeline: stream sales.orders resumes from an older point than lake committed: lake receives the rows in between again (written with append, they may repeat there)"])
        let keyed = points.aheadWarnings(destinations: [("warehouse", catalog(.upsert)), ("lake", catalog(.upsert))])
        #expect(keyed == ["pipeline: stream sales.orders resumes from an older point than lake committed: lake receives the rows in between again (written with upsert, they replace the same rows)"])
    }

    @Test func aFreshTableSendsTheOthersBackToTheBeginning() {
        let fresh = CommittedStates(states: [], freshStreams: [orders])
        let committed = CommittedStates(states: [state(9, orders, "key 90")])
        let points = ResumePoints(streams: [orders], saved: [state(8, orders, "key 80")], reports: [fresh, committed, nil])
        #expect(points.states.isEmpty)
        #expect(points.origin(of: orders) == .beginning)
        // The destination without committed states had the saved state: it is ahead too.
        #expect(points.ahead.map(\.destinations) == [[1, 2]])
    }

    @Test func destinationsAtTheSamePointAreNotAhead() {
        // The same position under another id (the host's numbering) is the same point.
        let one = CommittedStates(states: [state(6, orders, "key 60")]), renumbered = CommittedStates(states: [state(7, orders, "key 60")])
        let points = ResumePoints(streams: [orders], saved: [state(5, orders, "key 60")], reports: [one, renumbered, nil])
        #expect(points.ahead.isEmpty)
        #expect(points.aheadWarnings(destinations: [("a", catalog(.append)), ("b", catalog(.append)), ("c", catalog(.append))]).isEmpty)
    }

    @Test func theChangeStreamsGlobalStateAhead() {
        let behind = CommittedStates(states: [state(2, nil, "lsn 1")])
        let ahead = CommittedStates(states: [state(3, nil, "lsn 2")])
        let points = ResumePoints(streams: [orders], saved: [], reports: [behind, ahead])
        #expect(points.ahead.map(\.stream) == [nil])
        #expect(points.aheadWarnings(destinations: [("a", catalog(.upsert)), ("b", catalog(.upsert))])
            == ["pipeline: the change stream resumes from an older position than b committed: b applies the changes in between again (by key, which leaves the same rows)"])
    }
}
