import SluiceSDK
import SluiceWire

/// The checks of a source's calls, Discover and Read, each against a fresh plugin process.
struct SourceChecks: Sendable {
    let target: ConformanceTarget
    /// The configuration, as the JSON text to send.
    let config: String

    /// Rows the `read` check asks for at most.
    static let readLimit: UInt64 = 10_000

    /// `discover` (§4.3): the Catalog's stream ids are unique; within each schema the column
    /// names are unique, and the primary key and cursor candidates are columns; every stream
    /// lists its sync modes. Returns the catalog for the Read checks.
    func discover() async throws -> (Catalog, String) {
        try await target.withPlugin { probe in
            try await probe.handshake()
            let message = try await probe.answer(to: .discover(DiscoverRequest(configJSON: config)), expecting: "Catalog")
            guard case .catalog(let catalog) = message else {
                throw ConformanceFailure("Discover was answered with \(ConformanceText.name(message)), not Catalog")
            }
            let problems = Self.problems(of: catalog)
            guard problems.isEmpty else {
                let shown = problems.prefix(5).joined(separator: "; ")
                throw ConformanceFailure(problems.count > 5 ? "\(shown); and \(problems.count - 5) more" : shown)
            }
            let readable = catalog.streams.filter(\.readable).count
            return (catalog, "\(ConformanceText.count(catalog.streams.count, "stream")), \(readable) readable")
        }
    }

    /// `read` (§4.4, §5.10): a full refresh of `stream` with a limit follows the ordering
    /// rules (see ``ReadTranscript``) and ends with exactly one Summary.
    func read(_ stream: StreamDescriptor) async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            let configured = ConfiguredStream(schema: stream.schema, syncMode: .fullRefresh, limit: Self.readLimit)
            try await probe.send(.read(ReadRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [configured]))))
            var transcript = ReadTranscript(stream: stream.schema.stream, limit: Self.readLimit)
            while true {
                guard let message = try await probe.next("the Read's messages") else {
                    throw ConformanceFailure("the plugin ended its output before the Read's Summary")
                }
                guard let summary = try transcript.take(message) else { continue }
                let detail = try transcript.verify(summary)
                // Nothing of the call may follow its Summary (§4.4 rule 5).
                try await probe.closeCleanly(after: "the Read's Summary")
                return detail
            }
        }
    }

    /// `read-cancel` (§6.1): a Read of `stream` without a limit, cancelled after its first
    /// message, ends with Error{CANCELLED} (or its Summary, had it finished) and the session
    /// then answers GetSpec.
    func readCancel(_ stream: StreamDescriptor) async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            let configured = ConfiguredStream(schema: stream.schema, syncMode: .fullRefresh)
            try await probe.send(.read(ReadRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [configured]))))
            var received = 0
            var outcome = ""
            while outcome.isEmpty {
                guard let message = try await probe.next(received == 0 ? "the Read's first message" : "the end of the cancelled Read") else {
                    throw ConformanceFailure("the plugin ended its output before the cancelled Read ended")
                }
                switch message {
                case .schema, .records, .state, .streamStatus, .progress:
                    received += 1
                    if received == 1 { try await probe.send(.cancel) }
                case .summary:
                    outcome = received == 0 ? "the Read finished at once (Summary)" : "the Read had finished (Summary) before the Cancel was read"
                case .error(let error) where error.category == .cancelled && error.code == "CANCELLED":
                    outcome = "Error{CANCELLED, CANCELLED} after \(ConformanceText.count(received, "message"))"
                case .error(let error):
                    throw ConformanceFailure("the cancelled Read ended with \(ConformanceText.error(error)), not Error{CANCELLED, CANCELLED}")
                default:
                    throw ConformanceFailure("\(message.name) arrived during a Read (§3.3)")
                }
            }
            try await probe.expectSpec(after: "the cancelled Read")
            try await probe.closeCleanly(after: "GetSpec")
            return "\(stream.schema.stream): \(outcome); the session then answered GetSpec"
        }
    }

    /// Every broken rule of §4.3 in `catalog`.
    private static func problems(of catalog: Catalog) -> [String] {
        var problems: [String] = []
        var seen = Set<StreamID>()
        for descriptor in catalog.streams {
            let schema = descriptor.schema
            let id = schema.stream
            if !seen.insert(id).inserted { problems.append("stream \(id) is listed twice") }
            if id.name.isEmpty { problems.append("a stream has no name") }
            var columns = Set<String>()
            for column in schema.columns where !columns.insert(column.name).inserted {
                problems.append("\(id): column \"\(column.name)\" appears twice")
            }
            for key in schema.primaryKey where !columns.contains(key) {
                problems.append("\(id): primary key column \"\(key)\" is not a column")
            }
            for cursor in descriptor.cursorCandidates where !columns.contains(cursor) {
                problems.append("\(id): cursor candidate \"\(cursor)\" is not a column")
            }
            if descriptor.syncModes.isEmpty { problems.append("\(id): no sync modes") }
        }
        return problems
    }
}
