import Foundation
import SluiceSDK
import SluiceWire

/// One fresh plugin process driven by a conformance check, with the steps most checks share:
/// the handshake, reading answers (Log aside), expecting an Error or an exit code, and ending
/// the session cleanly.
struct ConformanceProbe: Sendable {
    let client: PluginClient
    let target: ConformanceTarget
    let state: ProbeState

    /// Performs the handshake (§3.1) and returns the plugin's HelloReply.
    @discardableResult
    func handshake() async throws -> HelloReply {
        state.step = "waiting for HelloReply"
        let reply = try await client.handshake(target.hello)
        if state.logsBeforeHandshake > 0 {
            throw ConformanceFailure("a Log frame arrived before HelloReply (§3.3: Log only after HelloReply)")
        }
        state.handshakeDone = true
        return reply
    }

    /// Sends `message`, noting it for the timeout message.
    func send(_ message: HostMessage) async throws {
        state.step = "sending \(message.name)"
        try await client.send(message)
    }

    /// The next message other than Log (printed at the chosen level), or `nil` when the
    /// plugin's output ended. A Log before HelloReply fails the check (§3.3).
    func next(_ what: String) async throws -> PluginMessage? {
        state.step = "waiting for \(what)"
        while let message = try await client.nextMessage() {
            guard case .log(let log) = message else { return message }
            guard state.handshakeDone else {
                throw ConformanceFailure("a Log frame arrived before HelloReply (§3.3: Log only after HelloReply)")
            }
            target.show(log)
        }
        return nil
    }

    /// Sends `request` and returns the next message other than Log, which should be `expected`.
    func answer(to request: HostMessage, expecting expected: String) async throws -> PluginMessage {
        try await send(request)
        guard let message = try await next(expected) else {
            throw ConformanceFailure("the plugin ended its output instead of answering \(request.name)")
        }
        return message
    }

    /// Expects the next message to be `Error{category, code}` and returns it.
    @discardableResult
    func expectError(_ category: ErrorCategory, _ code: String, after what: String) async throws -> PluginError {
        let expected = "Error{\(ConformanceText.category(category)), \(code)}"
        guard let message = try await next("\(expected) after \(what)") else {
            throw ConformanceFailure("the plugin ended its output after \(what) without sending \(expected)")
        }
        guard case .error(let error) = message else {
            throw ConformanceFailure("\(what) was answered with \(message.name), not \(expected)")
        }
        guard error.category == category, error.code == code else {
            throw ConformanceFailure("\(what) was answered with \(ConformanceText.error(error)), not \(expected)")
        }
        return error
    }

    /// Sends GetSpec and expects a SpecResponse as the very next answer: the session is usable.
    func expectSpec(after what: String) async throws {
        let message = try await answer(to: .getSpec, expecting: "SpecResponse after \(what)")
        guard case .spec = message else {
            throw ConformanceFailure("after \(what), GetSpec was answered with \(ConformanceText.name(message)), not SpecResponse")
        }
    }

    /// Waits for the plugin to exit by itself and expects exit code `code` (§1.3).
    func expectExit(_ code: Int32, after what: String) async throws {
        state.step = "waiting for the plugin to exit after \(what)"
        let status = await client.process.waitForExit()
        guard status == .exited(code) else {
            throw ConformanceFailure("after \(what) the plugin \(status), expected exit code \(code)")
        }
    }

    /// Sends Close and expects nothing but Log until the output ends, then exit 0 (§3.4).
    func closeCleanly(after what: String) async throws {
        try await send(.close)
        if let message = try await next("the end of the output after Close") {
            throw ConformanceFailure("after \(what), \(ConformanceText.name(message)) arrived that belongs to no call")
        }
        try await expectExit(0, after: "Close")
    }
}

/// What a probe's plugin has done so far, shared with its log callback and its time limit.
final class ProbeState: @unchecked Sendable {
    private let lock = NSLock()
    private var stepValue = "starting the plugin"
    private var handshakeValue = false
    private var earlyLogs = 0

    /// What the check is waiting for, for the message when the time limit passes.
    var step: String {
        get { lock.withLock { stepValue } }
        set { lock.withLock { stepValue = newValue } }
    }

    /// Whether HelloReply has arrived.
    var handshakeDone: Bool {
        get { lock.withLock { handshakeValue } }
        set { lock.withLock { handshakeValue = newValue } }
    }

    /// Log frames that arrived before HelloReply.
    var logsBeforeHandshake: Int { lock.withLock { earlyLogs } }

    /// Notes a Log frame passed to the client's log callback.
    func noteLog() {
        lock.withLock { if !handshakeValue { earlyLogs += 1 } }
    }
}
