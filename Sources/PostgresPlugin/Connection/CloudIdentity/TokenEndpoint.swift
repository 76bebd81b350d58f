import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SluiceWire

/// An access token and when it stops being valid.
struct AccessToken: Sendable {
    var value: String
    var issued: Date
    var expires: Date
}

/// An OAuth 2.0 token endpoint (RFC 6749 §4.4, RFC 7523): a form POST answered with JSON
/// `{"access_token", "expires_in"}`, or an `{"error", "error_description"}` refusal.
///
/// Failures are ``PluginError``s that name the endpoint and the identity, never a secret:
/// `AUTH_TOKEN_REFUSED` (CONFIG) when the endpoint refuses the identity (HTTP 400, 401, 403),
/// `AUTH_TOKEN_UNAVAILABLE` (TRANSIENT, retryable) when it cannot be reached or fails (after
/// ``maxAttempts`` tries), or answers something that is not a token.
struct TokenEndpoint: Sendable {
    static let maxAttempts = 3
    static let refusedCode = "AUTH_TOKEN_REFUSED"
    static let unavailableCode = "AUTH_TOKEN_UNAVAILABLE"

    let url: URL
    /// Who asks, for messages: "service account x@y.iam.gserviceaccount.com".
    let identity: String
    var timeout: TimeInterval = 30

    /// `text` as a token endpoint URL: https, or http to a loopback address (a local emulator
    /// or test endpoint); nil otherwise, as a token request must not cross a network in clear.
    static func url(_ text: String) -> URL? {
        guard let url = URL(string: text), let host = url.host, !host.isEmpty else { return nil }
        switch url.scheme?.lowercased() {
        case "https": return url
        case "http": return ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased()) ? url : nil
        default: return nil
        }
    }

    /// Posts `form` and returns the token; `secrets` (the assertion, a client secret) are
    /// scrubbed from anything the endpoint answers before it can reach a message.
    func token(form: [(String, String)], secrets: [String], now: @Sendable () -> Date) async throws -> AccessToken {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.httpBody = Data(form.map { "\(Self.formEncoded($0.0))=\(Self.formEncoded($0.1))" }.joined(separator: "&").utf8)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        var attempt = 1
        while true {
            let issued = now()
            let failure: PluginError
            do {
                let (data, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if status == 200 { return try decode(data, issued: issued, secrets: secrets) }
                let reason = Self.scrubbed(Self.oauthError(data) ?? "HTTP \(status)", secrets)
                if [400, 401, 403].contains(status) {
                    throw PluginError(category: .config, code: Self.refusedCode,
                                      message: "the token endpoint \(url.absoluteString) refused \(identity): \(reason)",
                                      detail: "HTTP \(status)")
                }
                failure = unavailable("answered HTTP \(status): \(reason)")
            } catch let error as PluginError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = unavailable("could not be reached: \(Self.scrubbed(error.localizedDescription, secrets))")
            }
            try Task.checkCancellation()
            guard attempt < Self.maxAttempts else { throw failure }
            try await Task.sleep(for: .milliseconds(500 * attempt))
            attempt += 1
        }
    }

    /// The token of a 200 answer.
    private func decode(_ data: Data, issued: Date, secrets: [String]) throws -> AccessToken {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let value = root["access_token"] as? String, !value.isEmpty,
              let lifetime = (root["expires_in"] as? NSNumber)?.doubleValue ?? (root["expires_in"] as? String).flatMap(Double.init),
              lifetime > 0, lifetime <= 366 * 86400 else {
            throw PluginError(category: .system, code: Self.unavailableCode,
                              message: "the token endpoint \(url.absoluteString) answered \(identity) without a usable access_token and expires_in")
        }
        return AccessToken(value: value, issued: issued, expires: issued.addingTimeInterval(lifetime))
    }

    private func unavailable(_ what: String) -> PluginError {
        PluginError(category: .transient, code: Self.unavailableCode,
                    message: "the token endpoint \(url.absoluteString) for \(identity) \(what)", retryable: true)
    }

    /// `error: error_description` of an OAuth error answer, at most 300 characters.
    private static func oauthError(_ data: Data) -> String? {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let error = root["error"] as? String else {
            return nil
        }
        let description = (root["error_description"] as? String).map { ": \($0)" } ?? ""
        return String((error + description).prefix(300))
    }

    /// `text` with every secret (and any run of 40 or more token-like characters, which an
    /// endpoint echoing its input could hold) replaced by `[secret]`.
    static func scrubbed(_ text: String, _ secrets: [String]) -> String {
        var text = text
        for secret in secrets where secret.count >= 4 { text = text.replacingOccurrences(of: secret, with: "[secret]") }
        return text.replacingOccurrences(of: "[A-Za-z0-9_\\-.~+/=]{40,}", with: "[secret]", options: .regularExpression)
    }

    /// RFC 3986's unreserved characters.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `text` percent-encoded for an `application/x-www-form-urlencoded` body.
    static func formEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
