import SluiceWire

/// The configuration the checks that need one send: from `--config`, expanded and validated
/// against the plugin's schema like every other command's.
enum ConformanceConfig: Sendable {
    /// No `--config`: the checks that need one are skipped.
    case notGiven
    /// `--config` was given, but the plugin's schema could not be read to type and validate
    /// it (the handshake or spec check says why).
    case unusable(String)
    /// The configuration as the JSON text to send.
    case json(String)

    /// Loads `launch.config` with the schema a fresh plugin gives. A missing, unparseable or
    /// invalid file throws the usual configuration failure (exit 65).
    static func prepare(_ launch: PluginLaunch, environment: [String: String], target: ConformanceTarget) async throws(HostFailure) -> ConformanceConfig {
        guard launch.config != nil else { return .notGiven }
        let spec: SpecResponse
        do {
            spec = try await target.withPlugin { probe in
                try await probe.handshake()
                guard case .spec(let spec) = try await probe.answer(to: .getSpec, expecting: "SpecResponse") else {
                    throw ConformanceFailure("GetSpec was not answered with SpecResponse")
                }
                return spec
            }
        } catch {
            return .unusable("the plugin's configuration schema could not be read: \(ConformanceText.reason(error))")
        }
        let schema: JSONValue
        do {
            schema = try PluginSession.configSchema(of: spec)
        } catch {
            return .unusable(error.message)
        }
        return .json(try PluginSession.configJSON(launch, environment: environment, schema: schema))
    }

    /// The JSON text, or why a check that needs it is skipped.
    func text() throws(ConformanceSkip) -> String {
        switch self {
        case .notGiven: throw ConformanceSkip("needs --config")
        case .unusable(let reason): throw ConformanceSkip(reason)
        case .json(let text): return text
        }
    }
}
