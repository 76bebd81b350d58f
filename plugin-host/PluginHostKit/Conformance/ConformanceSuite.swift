import SluiceSDK
import SluiceWire

/// Runs every ``ConformanceCheck`` in order and adds its result to the report. A check that
/// throws ``ConformanceSkip`` is skipped; any other error fails it. Checks that build on an
/// earlier one (the HelloReply's roles, Discover's catalog) are skipped when it did not pass.
struct ConformanceSuite {
    let target: ConformanceTarget
    let config: ConformanceConfig
    /// `--stream`: the stream the Read checks use (`namespace.name` or `name`).
    let stream: String?
    /// `--write`: whether the destination checks may write.
    let write: Bool
    let report: ConformanceReport

    func run() async {
        let session = SessionChecks(target: target)
        let calls = CallChecks(target: target)
        await run(.commandLine) { try await CommandLineCheck(target: target).run() }
        guard let reply = await value(of: .handshake, { try await session.handshake() }) else {
            for check in ConformanceCheck.allCases.drop(while: { $0 != .handshake }).dropFirst() {
                report.add(ConformanceResult(name: check.rawValue, outcome: .skipped, detail: "the handshake failed"))
            }
            return
        }
        await run(.versionMismatch) { try await session.versionMismatch() }
        await run(.helloFirst) { try await session.helloFirst() }
        await run(.badFrameFlags) { try await session.badFrameFlags() }
        await run(.close) { try await session.close() }
        await run(.spec) { try await calls.spec() }
        await run(.checkInvalidConfig) { try await calls.checkInvalidConfig() }
        await run(.check) { try await calls.check(config: try config.text()) }
        await run(.writeInputBetweenCalls) { try await calls.writeInputBetweenCalls() }
        await run(.cancelBetweenCalls) { try await calls.cancelBetweenCalls() }
        await run(.readAckBetweenCalls) {
            guard reply.capabilities.has(Feature.readAcks) else { throw ConformanceSkip("the plugin does not announce the \(Feature.readAcks) feature") }
            return try await calls.readAckBetweenCalls()
        }
        await run(.unsupportedCall) {
            guard !(reply.roles.contains(.source) && reply.roles.contains(.destination)) else {
                throw ConformanceSkip("the plugin has both roles")
            }
            return try await calls.unsupportedCall(roles: reply.roles)
        }
        await run(.resources) {
            try await calls.resources(config: reply.capabilities.has(Feature.resources) ? try config.text() : nil)
        }
        await run(.planWrite) {
            try requireRole(.destination, of: reply)
            return try await calls.planWrite(config: reply.capabilities.has(Feature.planWrite) ? try config.text() : nil)
        }
        await run(.sigterm) { try await session.sigterm() }
        await runSourceChecks(reply)
        await runDestinationChecks(reply)
    }

    private func runSourceChecks(_ reply: HelloReply) async {
        let catalog = await value(of: .discover) { () async throws -> (Catalog, String) in
            try requireRole(.source, of: reply)
            return try await SourceChecks(target: target, config: try config.text()).discover()
        }
        let chosen = Result { () throws(ConformanceSkip) -> StreamDescriptor in
            try requireRole(.source, of: reply)
            _ = try config.text()
            guard let catalog else { throw ConformanceSkip("discover did not pass") }
            return try readStream(in: catalog)
        }
        await run(.read) { try await SourceChecks(target: target, config: try config.text()).read(try chosen.get()) }
        await run(.readCancel) { try await SourceChecks(target: target, config: try config.text()).readCancel(try chosen.get()) }
    }

    private func runDestinationChecks(_ reply: HelloReply) async {
        let stream = ConformanceStream()
        let prerequisites = { () throws(ConformanceSkip) -> DestinationChecks in
            try requireRole(.destination, of: reply)
            let text = try config.text()
            guard write else { throw ConformanceSkip("needs --write: it writes a new stream, \(stream.id), to the destination") }
            guard reply.capabilities.writeModes.contains(.append) else {
                throw ConformanceSkip("the plugin does not list write mode append in its capabilities")
            }
            return DestinationChecks(target: target, config: text, stream: stream)
        }
        await run(.write) { try await prerequisites().write() }
        await run(.writeInvalidBatch) { try await prerequisites().writeInvalidBatch() }
        await run(.writeCommittedStates) {
            let checks = try prerequisites()
            guard reply.capabilities.has(Feature.committedStates) else {
                throw ConformanceSkip("the plugin does not announce the \(Feature.committedStates) feature")
            }
            return try await checks.writeCommittedStates()
        }
        await run(.writeChanges) {
            let checks = try prerequisites()
            guard reply.capabilities.writeModes.contains(.upsert) else {
                throw ConformanceSkip("the plugin does not list write mode upsert, which CDC streams need")
            }
            return try await checks.writeChanges(applies: reply.capabilities.has(Feature.cdcApply))
        }
        await run(.writePostgresRows) {
            let checks = try prerequisites()
            for feature in [Feature.postgresRows, Feature.committedStates] where !reply.capabilities.has(feature) {
                throw ConformanceSkip("the plugin does not announce the \(feature) feature")
            }
            return try await checks.writePostgresRows()
        }
    }

    /// The stream of `--stream`, or the first readable one that supports full refresh.
    private func readStream(in catalog: Catalog) throws(ConformanceSkip) -> StreamDescriptor {
        guard let stream else {
            guard let first = catalog.streams.first(where: { $0.readable && $0.syncModes.contains(.fullRefresh) }) else {
                throw ConformanceSkip("the catalog has no readable stream that supports full refresh")
            }
            return first
        }
        guard let named = catalog.streams.first(where: { $0.schema.stream.description == stream })
                ?? catalog.streams.first(where: { $0.schema.stream.name == stream }) else {
            throw ConformanceSkip("--stream \(stream): no such stream in the catalog")
        }
        guard named.readable else {
            throw ConformanceSkip("--stream \(stream) is not readable" + (named.remedy.isEmpty ? "" : ": \(named.remedy)"))
        }
        guard named.syncModes.contains(.fullRefresh) else {
            throw ConformanceSkip("--stream \(stream) does not support full refresh")
        }
        return named
    }

    private func requireRole(_ role: Role, of reply: HelloReply) throws(ConformanceSkip) {
        guard reply.roles.contains(role) else {
            throw ConformanceSkip("the plugin lacks the \(role == .source ? "source" : "destination") role")
        }
    }

    /// Runs `check` and records its result.
    private func run(_ check: ConformanceCheck, _ body: () async throws -> String) async {
        _ = await value(of: check) { ((), try await body()) }
    }

    /// Runs `check`, records its result, and returns what it produced when it passed.
    private func value<T>(of check: ConformanceCheck, _ body: () async throws -> (T, String)) async -> T? {
        do {
            let (value, detail) = try await body()
            report.add(ConformanceResult(name: check.rawValue, outcome: .passed, detail: detail))
            return value
        } catch let skip as ConformanceSkip {
            report.add(ConformanceResult(name: check.rawValue, outcome: .skipped, detail: skip.reason))
        } catch {
            report.add(ConformanceResult(name: check.rawValue, outcome: .failed, detail: ConformanceText.reason(error)))
        }
        return nil
    }
}
