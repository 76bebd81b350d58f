import SluiceSDK
import SluiceWire

/// The destination role: loads a Write call's streams into PostgreSQL tables.
struct PostgresDestination {
    let config: PluginConfig
    let context: CallContext

    /// Runs the Write call and returns the per-stream counts.
    func write(_ request: WriteRequest, input: WriteInput, output: WriteOutput) async throws -> Summary {
        let start = ContinuousClock.now
        let session = try await DestinationSession(config: config, request: request, context: context)
        let streams = try await session.run(input: input, output: output)
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        return Summary(streams: streams, durationMicros: UInt64(max(0, micros)))
    }

    /// What the Write `request` would do to the tables, without running it.
    func plan(_ request: WriteRequest) async throws -> PlanWriteResponse {
        do {
            let session = try await DestinationSession(config: config, request: request, context: context)
            return PlanWriteResponse(tables: try await session.plan())
        } catch {
            throw PluginErrors.map(error, stream: nil, otherCode: "PLAN_FAILED")
        }
    }
}
