import SluiceSDK
import SluiceWire

/// The checks of the calls every plugin answers (GetSpec, Check) and of messages sent between
/// calls, each against a fresh plugin process.
struct CallChecks: Sendable {
    let target: ConformanceTarget

    /// `spec` (§4.1, §9): GetSpec is answered by a SpecResponse whose config_schema_json is a
    /// JSON object with `"type": "object"`.
    func spec() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            let message = try await probe.answer(to: .getSpec, expecting: "SpecResponse")
            guard case .spec(let spec) = message else {
                throw ConformanceFailure("GetSpec was answered with \(ConformanceText.name(message)), not SpecResponse")
            }
            let schema: JSONValue
            do {
                schema = try JSONParser.parse(spec.configSchemaJSON)
            } catch {
                throw ConformanceFailure("config_schema_json is not valid JSON: \(error)")
            }
            guard let members = schema.objectMembers else {
                throw ConformanceFailure("config_schema_json is a JSON \(schema.typeName), not an object")
            }
            guard schema["type"] == .string("object") else {
                throw ConformanceFailure(#"config_schema_json does not say "type": "object" (§9: the configuration is one JSON object)"#)
            }
            let properties = schema["properties"]?.objectMembers?.count ?? 0
            return "config_schema_json is a JSON Schema of an object (\(ConformanceText.count(members.count, "keyword")), \(ConformanceText.count(properties, "property", "properties")))"
        }
    }

    /// `check-invalid-config` (§4.2): Check with config_json `not json` is answered by a
    /// CheckResponse (not an Error) that did not pass and whose results are consistent.
    func checkInvalidConfig() async throws -> String {
        let response = try await check(configJSON: "not json")
        guard !response.passed else { throw ConformanceFailure("Check passed config_json `not json`") }
        return "config_json `not json` → passed = false: " + Self.failures(response)
    }

    /// `check` (§4.2): Check with the configuration passes, consistently with its results.
    func check(config: String) async throws -> String {
        let response = try await check(configJSON: config)
        guard response.passed else { throw ConformanceFailure("Check did not pass: " + Self.failures(response)) }
        return "passed: " + response.checks.map(\.name).joined(separator: ", ")
    }

    /// `write-input-between-calls` (§3.3, §7.3): WriteEnd between calls is answered by
    /// Error{PROTOCOL, UNEXPECTED_MESSAGE}, and the session continues.
    func writeInputBetweenCalls() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            try await probe.send(.writeEnd)
            try await probe.expectError(.protocol, "UNEXPECTED_MESSAGE", after: "WriteEnd between calls")
            try await probe.expectSpec(after: "the UNEXPECTED_MESSAGE error")
            try await probe.closeCleanly(after: "GetSpec")
            return "WriteEnd between calls → Error{PROTOCOL, UNEXPECTED_MESSAGE}; GetSpec answered after it"
        }
    }

    /// `cancel-between-calls` (§6.1): a Cancel between calls is ignored: the GetSpec after it
    /// is answered by SpecResponse and nothing else.
    func cancelBetweenCalls() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            try await probe.send(.cancel)
            try await probe.expectSpec(after: "Cancel between calls")
            try await probe.closeCleanly(after: "GetSpec")
            return "Cancel between calls ignored; GetSpec answered by SpecResponse alone"
        }
    }

    /// `read-ack-between-calls` (§3.3, §8.2): a ReadAck between calls, to a source announcing
    /// `read_acks`, is consumed without an answer; the session goes on.
    func readAckBetweenCalls() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            try await probe.send(.readAck(ReadAck(stateID: 1)))
            try await probe.expectSpec(after: "ReadAck between calls")
            try await probe.closeCleanly(after: "GetSpec")
            return "ReadAck between calls ignored; GetSpec answered by SpecResponse alone"
        }
    }

    /// `unsupported-call` (§4.6): Discover to a plugin without the source role, or a Write (its
    /// input discarded up to WriteEnd) to one without the destination role, is answered by
    /// Error{CONFIG, UNSUPPORTED_CALL}, and the session continues.
    func unsupportedCall(roles: [Role]) async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            var tried: [String] = []
            if !roles.contains(.source) {
                try await probe.send(.discover(DiscoverRequest(configJSON: "{}")))
                try await probe.expectError(.config, "UNSUPPORTED_CALL", after: "Discover to a plugin without the source role")
                try await probe.expectSpec(after: "the refused Discover")
                tried.append("Discover")
            }
            if !roles.contains(.destination) {
                let stream = ConformanceStream()
                try await probe.send(.write(WriteRequest(configJSON: "{}", catalog: stream.catalog)))
                try await probe.send(.records(try stream.batch(0)))
                try await probe.send(.state(stream.state(0)))
                try await probe.send(.writeEnd)
                try await probe.expectError(.config, "UNSUPPORTED_CALL", after: "a Write to a plugin without the destination role")
                try await probe.expectSpec(after: "the refused Write and its input")
                tried.append("Write (with a batch, a State and WriteEnd)")
            }
            try await probe.closeCleanly(after: "GetSpec")
            return tried.joined(separator: " and ") + " → Error{CONFIG, UNSUPPORTED_CALL}; the session continued"
        }
    }

    /// `resources` (§4.7): given the configuration of a plugin announcing `resources`, a listing
    /// (for a pipeline id no run used) is answered by ResourcesResponse, every resource named and
    /// none released; without the feature (`config` nil), by Error{CONFIG, UNSUPPORTED_CALL}.
    /// Either way the session continues.
    func resources(config: String?) async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            let outcome: String
            if let config {
                let request = ResourcesRequest(configJSON: config, pipelineID: "sluice-conformance-unused")
                let message = try await probe.answer(to: .resources(request), expecting: "ResourcesResponse")
                guard case .resources(let response) = message else {
                    throw ConformanceFailure("a Resources listing was answered with \(ConformanceText.name(message)), not ResourcesResponse")
                }
                if let unnamed = response.resources.first(where: { $0.kind.isEmpty || $0.name.isEmpty }) {
                    throw ConformanceFailure("a listed resource has no kind or no name: \(unnamed)")
                }
                if let released = response.resources.first(where: \.released) {
                    throw ConformanceFailure("a listing (release false) reported \(released.kind) \(released.name) as released")
                }
                outcome = "a listing was answered by ResourcesResponse (\(response.resources.count) resources, none released)"
            } else {
                try await probe.send(.resources(ResourcesRequest(configJSON: "{}")))
                _ = try await probe.expectError(.config, "UNSUPPORTED_CALL", after: "Resources to a plugin without the resources feature")
                outcome = "Resources without the feature → Error{CONFIG, UNSUPPORTED_CALL}"
            }
            try await probe.expectSpec(after: "the Resources call")
            try await probe.closeCleanly(after: "GetSpec")
            return outcome + "; the session continued"
        }
    }

    /// `plan-write` (§4.8): given the configuration of a destination announcing `plan_write`, a
    /// PlanWrite of a new append stream is answered by one TablePlan for it, with a target and
    /// an action; without the feature (`config` nil), by Error{CONFIG, UNSUPPORTED_CALL}. Either
    /// way the session continues.
    func planWrite(config: String?) async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            let stream = ConformanceStream()
            let request = PlanWriteRequest(write: WriteRequest(configJSON: config ?? "{}", catalog: stream.catalog))
            let outcome: String
            if config != nil {
                let message = try await probe.answer(to: .planWrite(request), expecting: "PlanWriteResponse")
                guard case .planWrite(let response) = message else {
                    throw ConformanceFailure("a PlanWrite was answered with \(ConformanceText.name(message)), not PlanWriteResponse")
                }
                guard response.tables.count == 1, let table = response.tables.first, table.stream == stream.id else {
                    throw ConformanceFailure("a PlanWrite of one stream was answered with \(response.tables.count) table plans, not one for \(stream.id)")
                }
                guard !table.target.isEmpty, !table.action.isEmpty else {
                    throw ConformanceFailure("the table plan of \(stream.id) has no target or no action")
                }
                outcome = "\(stream.id) → \(table.target) (\(table.action), \(table.statements.count) statements)"
            } else {
                try await probe.send(.planWrite(request))
                _ = try await probe.expectError(.config, "UNSUPPORTED_CALL", after: "PlanWrite to a destination without the plan_write feature")
                outcome = "PlanWrite without the feature → Error{CONFIG, UNSUPPORTED_CALL}"
            }
            try await probe.expectSpec(after: "the PlanWrite call")
            try await probe.closeCleanly(after: "GetSpec")
            return outcome + "; the session continued"
        }
    }

    /// Runs Check with `configJSON` and verifies the response's consistency.
    private func check(configJSON: String) async throws -> CheckResponse {
        let response = try await target.withPlugin { probe in
            try await probe.handshake()
            let message = try await probe.answer(to: .check(CheckRequest(configJSON: configJSON)), expecting: "CheckResponse")
            guard case .check(let response) = message else {
                throw ConformanceFailure("Check was answered with \(ConformanceText.name(message)), not CheckResponse (§4.2: a failed check is a normal answer)")
            }
            return response
        }
        try Self.verifyConsistency(response)
        return response
    }

    /// §4.2: every result has a name and a code, the code is "OK" exactly when it passed, and
    /// the response passed exactly when every result did.
    private static func verifyConsistency(_ response: CheckResponse) throws {
        guard !response.checks.isEmpty else { throw ConformanceFailure("the CheckResponse has no results") }
        for (index, result) in response.checks.enumerated() {
            let label = result.name.isEmpty ? "result \(index + 1)" : "result \"\(result.name)\""
            guard !result.name.isEmpty else { throw ConformanceFailure("\(label) has no name") }
            guard !result.code.isEmpty else { throw ConformanceFailure("\(label) has no code") }
            guard (result.code == "OK") == result.passed else {
                throw ConformanceFailure("\(label) has passed = \(result.passed) with code \(result.code) (code is \"OK\" exactly when passed)")
            }
        }
        let all = response.checks.allSatisfy(\.passed)
        guard response.passed == all else {
            throw ConformanceFailure("the CheckResponse says passed = \(response.passed), but \(all ? "every result passed" : "a result failed")")
        }
    }

    /// `name [CODE]: message` of each failed result.
    private static func failures(_ response: CheckResponse) -> String {
        response.checks.filter { !$0.passed }
            .map { "\($0.name) [\($0.code)]" + ($0.message.isEmpty ? "" : ": \(ConformanceText.oneLine($0.message))") }
            .joined(separator: "; ")
    }
}
