/// The results of a conformance run: printed one line per check as they come (`✔ name:
/// detail`, `✘ name: reason`, `- name: skipped (why)`) and a total line, or as one JSON
/// document at the end.
final class ConformanceReport {
    /// The plugin as named on the command line.
    let plugin: String
    /// Whether each result is printed as soon as it is added.
    let streaming: Bool
    private(set) var results: [ConformanceResult] = []

    init(plugin: String, streaming: Bool) {
        self.plugin = plugin
        self.streaming = streaming
    }

    /// Records `result`, printing its line when streaming.
    func add(_ result: ConformanceResult) {
        results.append(result)
        if streaming { Diagnostics.output(Self.line(result)) }
    }

    /// How many checks ended with `outcome`.
    func count(_ outcome: ConformanceOutcome) -> Int {
        results.filter { $0.outcome == outcome }.count
    }

    /// `18 checks: 15 passed, 1 failed, 2 skipped`.
    var totalLine: String {
        "\(results.count) checks: \(count(.passed)) passed, \(count(.failed)) failed, \(count(.skipped)) skipped"
    }

    /// `{"plugin", "checks": [{"name", "result", "detail"}], "passed", "failed", "skipped"}`.
    var json: JSONValue {
        .object([
            ("plugin", .string(plugin)),
            ("checks", .array(results.map { result in
                .object([("name", .string(result.name)), ("result", .string(result.outcome.rawValue)),
                         ("detail", .string(result.detail))])
            })),
            ("passed", .integer(count(.passed))),
            ("failed", .integer(count(.failed))),
            ("skipped", .integer(count(.skipped))),
        ])
    }

    private static func line(_ result: ConformanceResult) -> String {
        switch result.outcome {
        case .passed: "✔ \(result.name): \(result.detail)"
        case .failed: "✘ \(result.name): \(result.detail)"
        case .skipped: "- \(result.name): skipped (\(result.detail))"
        }
    }
}
