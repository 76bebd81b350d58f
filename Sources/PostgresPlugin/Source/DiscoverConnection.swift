import PostgresClient
import Synchronization

/// The connection a Discover leaves open for the Read that usually follows it with the same
/// configuration (plugin-host's `pipeline` and `read`, an orchestrator's discover-then-read): that Read then
/// skips a connection's set-up (authentication and a new server process, about 9 ms on a local
/// server; more across a network or with TLS).
///
/// One connection at a time, for the configuration's JSON value (the same keys and values in
/// any order and spacing, as two serializations of one configuration differ), closed when a
/// Read with another configuration comes, when the next Discover leaves its own, or
/// ``lifetime`` after it was left. A Read makes sure it still answers (one round trip) first.
final class DiscoverConnection: Sendable {
    /// How long a connection waits for its Read.
    static let lifetime: Duration = .seconds(10)

    private struct Held {
        var configuration: JSONValue
        var connection: PostgresConnection
        /// Which ``keep(_:for:)`` left it, so that only its own timer closes it.
        var generation: Int
    }

    private struct State {
        var held: Held?
        var generations = 0
    }

    private let state = Mutex(State())

    /// Keeps `connection`, which a Discover of `configuration` used, for a Read of the same.
    func keep(_ connection: PostgresConnection, for configuration: JSONValue) {
        let (replaced, generation) = state.withLock { state in
            state.generations += 1
            let replaced = state.held?.connection
            state.held = Held(configuration: configuration, connection: connection, generation: state.generations)
            return (replaced, state.generations)
        }
        replaced?.close()
        Task { [self] in
            try? await Task.sleep(for: Self.lifetime)
            expire(generation)
        }
    }

    /// The kept connection if it was left for `configuration` and still answers; nil otherwise
    /// (a connection left for another configuration is closed).
    func take(for configuration: JSONValue) async -> PostgresConnection? {
        let kept = state.withLock { state -> Held? in
            defer { state.held = nil }
            return state.held
        }
        guard let kept else { return nil }
        guard kept.configuration == configuration, kept.connection.isAlive,
              (try? await kept.connection.execute("SELECT 1")) != nil else {
            kept.connection.close()
            return nil
        }
        return kept.connection
    }

    private func expire(_ generation: Int) {
        let expired = state.withLock { state -> PostgresConnection? in
            guard let kept = state.held, kept.generation == generation else { return nil }
            state.held = nil
            return kept.connection
        }
        expired?.close()
    }
}
