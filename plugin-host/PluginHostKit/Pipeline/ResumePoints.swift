import SluiceWire

/// Where each stream of a pipeline run resumes (PROTOCOL.md §8.1): from what its destinations
/// committed when they can say, else from the state the host saved (the state file, or a
/// failed attempt's), else from the beginning. With several destinations the oldest point wins,
/// so none of them misses anything; the destinations that had committed more receive the rows
/// between again (``ahead``).
struct ResumePoints {
    /// Where a stream's resume point came from.
    enum Origin: String {
        /// Every destination reported the state it committed with the rows.
        case destination
        /// The state the host saved once every destination acknowledged it.
        case saved
        /// No state: the stream is read from the beginning.
        case beginning
    }

    /// The states to send in the ReadRequest.
    private(set) var states: [State] = []
    /// Each selected stream's origin (nil: the global state), in selection order.
    private(set) var origins: [(stream: StreamID?, origin: Origin)] = []
    /// The streams whose resume point is older than what some destinations committed: those
    /// destinations (their indices) receive again the rows in between.
    private(set) var ahead: [(stream: StreamID?, destinations: [Int])] = []
    /// The first id to forward states with: above every id a destination reported, so the
    /// oldest committed state is always the one with the smallest id.
    private(set) var firstID: UInt64 = 1

    /// Where `stream`'s resume point came from.
    func origin(of stream: StreamID?) -> Origin {
        origins.first { $0.stream == stream }?.origin ?? .beginning
    }

    private enum Candidate {
        case committed(State)
        case saved(State)
        case beginning
    }

    /// Resolves `streams` from `saved` (the host's states) and each destination's report (nil
    /// for a destination that cannot report; such a destination gets the saved state).
    init(streams: [StreamID], saved: [State], reports: [CommittedStates?]) {
        let reported = reports.compactMap { $0 }
        firstID = (reported.flatMap(\.states).map(\.id).max() ?? 0) + 1
        let savedByStream = Dictionary(saved.map { ($0.stream, $0) }, uniquingKeysWith: { _, last in last })
        let keys: [StreamID?] = streams.map { $0 } + (saved.contains { $0.stream == nil } || reported.contains { $0.states.contains { $0.stream == nil } } ? [nil] : [])
        for stream in keys {
            let fallback = savedByStream[stream].map(Candidate.saved) ?? .beginning
            let candidates: [Candidate] = reports.map { report in
                guard let report else { return fallback }
                if let stream, report.freshStreams.contains(stream) { return .beginning }
                if stream == nil, !report.freshStreams.isEmpty { return .beginning }
                return report.states.last { $0.stream == stream }.map(Candidate.committed) ?? fallback
            }
            let chosen = Self.oldest(candidates)
            let further = candidates.indices.filter { Self.isFurther(candidates[$0], than: chosen) }
            if !further.isEmpty { ahead.append((stream, further)) }
            switch chosen {
            case .beginning:
                origins.append((stream, .beginning))
            case .saved(let state):
                states.append(state)
                origins.append((stream, .saved))
            case .committed(let state):
                states.append(state)
                origins.append((stream, .destination))
            }
        }
    }

    /// A warning per stream and destination of ``ahead``: that it receives rows again, and what
    /// its write mode makes of them (`destinations`: each one's label and Write catalog, in order).
    func aheadWarnings(destinations: [(label: String, catalog: ConfiguredCatalog)]) -> [String] {
        ahead.flatMap { stream, indices in
            indices.map { index in
                let (label, catalog) = destinations[index]
                guard let stream else {
                    return "pipeline: the change stream resumes from an older position than \(label) committed: \(label) applies the "
                        + "changes in between again (by key, which leaves the same rows)"
                }
                var effect = ""
                if let mode = catalog.streams.first(where: { $0.schema.stream == stream })?.writeMode {
                    let repeats = mode == .append || mode == .unspecified
                    effect = " (written with \(ProtocolNames.label(mode)), " + (repeats ? "they may repeat there)" : "they replace the same rows)")
                }
                return "pipeline: stream \(stream) resumes from an older point than \(label) committed: \(label) receives the rows "
                    + "in between again\(effect)"
            }
        }
    }

    /// Whether a destination whose point is `candidate` holds more than `chosen` covers: a state's
    /// bytes are the source's position (its id is the host's numbering, which may differ).
    private static func isFurther(_ candidate: Candidate, than chosen: Candidate) -> Bool {
        switch (candidate, chosen) {
        case (.beginning, _): false
        case (_, .beginning): true
        case (.committed(let state), .committed(let other)), (.committed(let state), .saved(let other)): state.data != other.data
        case (.saved, _): false
        }
    }

    /// The beginning if any candidate says so; else the host's saved state (no destination
    /// committed less than it, since it was saved once all of them had); else the committed
    /// state with the smallest id.
    private static func oldest(_ candidates: [Candidate]) -> Candidate {
        var saved: State?
        var committed: State?
        for candidate in candidates {
            switch candidate {
            case .beginning: return .beginning
            case .saved(let state): saved = state
            case .committed(let state): if state.id < committed?.id ?? .max { committed = state }
            }
        }
        if let saved { return .saved(saved) }
        return committed.map(Candidate.committed) ?? .beginning
    }
}
