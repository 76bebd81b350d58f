import SluiceWire

/// Which streams of a pipeline may carry PostgreSQL rows (PROTOCOL.md §5.12), and the words for
/// a batch that carries them where it may not.
enum PostgresRowsRule {
    /// The streams every destination takes as PostgreSQL rows, when the source can send them and
    /// every destination announced the feature and reported its streams; none otherwise.
    static func streams(source: PluginSession, destinations: [PluginSession], committed: [CommittedStates?]) -> Set<StreamID> {
        guard source.client.helloReply.capabilities.has(Feature.postgresRows),
              destinations.allSatisfy({ $0.client.helloReply.capabilities.has(Feature.postgresRows) }) else { return [] }
        return intersection(committed)
    }

    /// The streams listed by every report; none when a report is missing.
    static func intersection(_ committed: [CommittedStates?]) -> Set<StreamID> {
        guard let first = committed.first, let first else { return [] }
        var streams = Set(first.postgresRowsStreams)
        for report in committed.dropFirst() {
            guard let report else { return [] }
            streams.formIntersection(report.postgresRowsStreams)
        }
        return streams
    }

    static func notAllowed(_ stream: StreamID) -> String {
        "a RecordBatch of \(stream) carries PostgreSQL rows, which the Read did not allow for it (§5.12)"
    }
}
