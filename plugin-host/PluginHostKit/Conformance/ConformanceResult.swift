/// How one conformance check ended.
enum ConformanceOutcome: String, Sendable {
    case passed, failed, skipped
}

/// One conformance check's name, outcome and detail: what was seen when it passed, why it
/// failed, or why it was skipped.
struct ConformanceResult: Sendable {
    var name: String
    var outcome: ConformanceOutcome
    var detail: String
}

/// Why a conformance check failed, in one line for the report.
struct ConformanceFailure: Error, Sendable {
    var reason: String

    init(_ reason: String) { self.reason = reason }
}

/// Why a conformance check cannot run here (a role the plugin lacks, an option not given).
struct ConformanceSkip: Error, Sendable {
    var reason: String

    init(_ reason: String) { self.reason = reason }
}
