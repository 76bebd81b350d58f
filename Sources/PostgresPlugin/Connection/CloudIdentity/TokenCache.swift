import Foundation

/// Keeps the current access token of one identity and fetches a new one when too little of
/// its life is left for a new connection to start with it: less than ``refreshMargin`` (five
/// minutes), or less than half its lifetime for short-lived tokens. Callers that ask while a
/// fetch runs wait for that fetch instead of starting their own.
actor TokenCache {
    static let refreshMargin: TimeInterval = 300

    private let fetch: @Sendable () async throws -> AccessToken
    private let now: @Sendable () -> Date
    private var current: AccessToken?
    private var pending: Task<AccessToken, any Error>?

    init(now: @escaping @Sendable () -> Date = Date.init, fetch: @escaping @Sendable () async throws -> AccessToken) {
        self.fetch = fetch
        self.now = now
    }

    /// A token with enough life left for a new connection.
    func token() async throws -> String {
        if let current, isFresh(current) { return current.value }
        let task = pending ?? Task { try await fetch() }
        pending = task
        defer { if pending == task { pending = nil } }
        let token = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        current = token
        return token.value
    }

    private func isFresh(_ token: AccessToken) -> Bool {
        let lifetime = token.expires.timeIntervalSince(token.issued)
        return token.expires.timeIntervalSince(now()) > min(Self.refreshMargin, lifetime / 2)
    }
}
