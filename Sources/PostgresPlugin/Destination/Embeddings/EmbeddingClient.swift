import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SluiceWire

/// Calls an OpenAI-compatible embeddings endpoint: `POST {base_url}/embeddings` with
/// `{"model", "input": [texts], "dimensions"}` and a Bearer key, in requests of `batch_size`
/// texts (the caller groups them, so memory holds one request's vectors at a time); rate limits (429), server errors (5xx) and network failures are retried with backoff.
/// Errors never contain the key.
final class EmbeddingClient: Sendable {
    static let maxAttempts = 4

    private let settings: EmbeddingSettings
    private let session: URLSession

    init(settings: EmbeddingSettings) {
        self.settings = settings
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = settings.timeout
        session = URLSession(configuration: configuration)
    }

    /// The most texts one ``embed(_:)`` sends (`batch_size`).
    var batchSize: Int { settings.batchSize }

    /// One vector of `dimensions` numbers per text, in order, in one request (at most
    /// ``batchSize`` texts).
    func embed(_ texts: [String]) async throws -> [[Float]] {
        guard let url = URL(string: settings.baseURL.hasSuffix("/") ? settings.baseURL + "embeddings" : settings.baseURL + "/embeddings"),
              url.scheme == "http" || url.scheme == "https" else {
            throw failure(.config, "EMBEDDING_CONFIG", "embeddings.base_url is not an http(s) URL")
        }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if !settings.apiKey.isEmpty { request.setValue("Bearer \(settings.apiKey)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: ["model": settings.model, "input": texts, "dimensions": settings.dimensions])
        var attempt = 1
        while true {
            let outcome: Result<(Data, URLResponse), any Error>
            do {
                outcome = .success(try await session.data(for: request))
            } catch {
                outcome = .failure(error)
            }
            try Task.checkCancellation()
            switch outcome {
            case .success(let (data, response)):
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if status == 200 { return try decode(data, count: texts.count) }
                let retryable = status == 429 || status >= 500
                guard retryable, attempt < Self.maxAttempts else {
                    let category: ErrorCategory = [400, 401, 403, 404, 422].contains(status) ? .config : .transient
                    throw failure(category, "EMBEDDING_FAILED", "the embeddings endpoint answered HTTP \(status): \(serverMessage(data))",
                                  retryable: retryable)
                }
            case .failure(let error):
                guard attempt < Self.maxAttempts else {
                    throw failure(.transient, "EMBEDDING_FAILED", "the embeddings endpoint could not be reached: \(scrub(error.localizedDescription))",
                                  retryable: true)
                }
            }
            try await Task.sleep(for: .milliseconds(250 * (1 << (2 * (attempt - 1)))))
            attempt += 1
        }
    }

    /// The vectors of a 200 answer, by their `index`.
    private func decode(_ data: Data, count: Int) throws -> [[Float]] {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let items = root["data"] as? [[String: Any]] else {
            throw failure(.system, "EMBEDDING_FAILED", "the embeddings endpoint's answer has no data array")
        }
        var vectors = [[Float]?](repeating: nil, count: count)
        for (position, item) in items.enumerated() {
            let index = (item["index"] as? Int) ?? position
            guard vectors.indices.contains(index), let numbers = item["embedding"] as? [Any] else {
                throw failure(.system, "EMBEDDING_FAILED", "the embeddings endpoint's answer has an item without a usable index or embedding")
            }
            let vector = numbers.compactMap { ($0 as? NSNumber)?.floatValue }
            guard vector.count == numbers.count, vector.count == settings.dimensions else {
                throw failure(.config, "EMBEDDING_DIMENSIONS",
                              "model \(settings.model) returned vectors of \(numbers.count) numbers, but embeddings.dimensions is \(settings.dimensions)")
            }
            vectors[index] = vector
        }
        let complete = vectors.compactMap { $0 }
        guard complete.count == count else {
            throw failure(.system, "EMBEDDING_FAILED", "the embeddings endpoint returned \(complete.count) vectors for \(count) texts")
        }
        return complete
    }

    /// The `error.message` of an OpenAI-style error body, else the start of the body.
    private func serverMessage(_ data: Data) -> String {
        if let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
           let error = root["error"] as? [String: Any], let message = error["message"] as? String {
            return scrub(String(message.prefix(300)))
        }
        return scrub(String(String(decoding: data.prefix(300), as: UTF8.self)))
    }

    /// `text` without the API key.
    private func scrub(_ text: String) -> String {
        settings.apiKey.count < 4 ? text : text.replacingOccurrences(of: settings.apiKey, with: "[secret]")
    }

    private func failure(_ category: ErrorCategory, _ code: String, _ message: String, retryable: Bool = false) -> PluginError {
        PluginError(category: category, code: code, message: message, retryable: retryable)
    }
}
