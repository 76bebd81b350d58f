public import Foundation
import Logging
import SluiceWire

/// Serves one protocol session for a plugin: handshake, then calls one at a time until Close
/// or end of input. Owns dispatch, cancellation and error mapping, so plugins only implement
/// ``Plugin``, ``SourcePlugin`` and ``DestinationPlugin``.
public final class PluginServer: @unchecked Sendable {
    /// Protocol versions this SDK speaks.
    public static let supportedVersions: ClosedRange<UInt32> = 1...1

    /// How a session ended, as a process exit code.
    public enum Outcome: Int32, Sendable {
        case closed = 0
        case protocolError = 2
        case interrupted = 130
    }

    private let plugin: any Plugin
    private let reader: FrameReader<HostMessage>
    private let writer: FrameWriter
    private let inbox: SessionInbox
    private let logger: Logger
    private let lock = NSLock()
    private var runningCall: Task<Void, Never>?
    /// The running Read's acknowledgements, where the reader thread hands ReadAcks.
    private var readAcknowledgements: ReadAcknowledgements?
    private var interrupted = false
    /// Calls the reader thread has queued, and those that have ended: a Cancel read while a
    /// queued call has not ended yet belongs to that call, even if it has not started running.
    private var callsQueued = 0
    private var callsEnded = 0
    private var cancelPending = false
    /// The Error that ended the last Read or Write, if it failed: when it is the one that broke
    /// the input, the session does not report it a second time.
    private var lastCallError: PluginError?

    /// A server reading frames from `input` and writing frames to `output`.
    public init(plugin: any Plugin, input: FileHandle, output: FileHandle) {
        self.plugin = plugin
        let maxFrameSize = Int(Hello.defaultMaxFrameSize)
        let relay = ReaderRelay()
        self.reader = FrameReader(handle: input, maxFrameSize: maxFrameSize,
                                  decode: WireCodec.decodeHostMessage,
                                  intercept: { message in
                                      switch message {
                                      case .cancel where relay.helloSeen:
                                          relay.fire()
                                          return true
                                      case .readAck(let ack) where relay.helloSeen:
                                          // Out of place (no Read running, an unknown id): ignored (§8.2).
                                          relay.acknowledge(ack.stateID)
                                          return true
                                      case .hello(let hello):
                                          // Frames right after Hello already follow its size limit.
                                          relay.applyFrameSize(hello.maxFrameSize)
                                          return false
                                      case .getSpec, .check, .discover, .read, .write, .resources, .planWrite:
                                          relay.noteCall()
                                          return false
                                      default:
                                          return false
                                      }
                                  })
        self.writer = FrameWriter(handle: output, maxFrameSize: maxFrameSize, label: "sluice.plugin.output")
        self.inbox = SessionInbox(reader: reader)
        self.logger = Logger(label: plugin.info.name)
        relay.action = { [weak self] in self?.cancelRunningCall() }
        relay.callAction = { [weak self] in self?.noteCallQueued() }
        relay.ackAction = { [weak self] id in self?.acknowledgeRead(id) }
        relay.frameSizeAction = { [weak self] size in
            self?.reader.maxFrameSize = size == 0 ? Int(Hello.defaultMaxFrameSize) : Int(size)
        }
    }

    /// Cancels the running call (the Cancel message, or a signal).
    public func cancelRunningCall() {
        let call: Task<Void, Never>? = lock.withLock {
            if callsQueued > callsEnded { cancelPending = true }
            return runningCall
        }
        call?.cancel()
    }

    /// Hands a ReadAck to the running Read, if any.
    private func acknowledgeRead(_ id: UInt64) {
        lock.withLock { readAcknowledgements }?.acknowledge(id)
    }

    private func noteCallQueued() {
        lock.withLock { callsQueued += 1 }
    }

    /// Cancels the running call and ends the session after it reports (SIGTERM, SIGINT).
    public func interrupt() {
        let call: Task<Void, Never>? = lock.withLock {
            interrupted = true
            return runningCall
        }
        if let call {
            call.cancel()
        } else {
            reader.queue.finish()
        }
    }

    /// Runs the session to its end and returns how it ended.
    public func run() async -> Outcome {
        reader.start(name: "sluice.plugin.input")
        defer {
            writer.flush()
            LogRouter.shared.reportDropped()
            writer.flush()
        }
        do {
            guard try await handshake() else { return .protocolError }
            var pending: HostMessage?
            while true {
                if lock.withLock({ interrupted }) { return .interrupted }
                let next: HostMessage?
                if let message = pending {
                    next = message
                    pending = nil
                } else {
                    next = try await inbox.nextMessage()
                }
                guard let message = next else { return lock.withLock { interrupted } ? .interrupted : .closed }
                if case .close = message { return .closed }
                pending = try await handle(message)
                if let failure = inbox.failure {
                    if failure != lastCallError { await report(failure) }
                    return .protocolError
                }
            }
        } catch {
            await report(error)
            return .protocolError
        }
    }

    // MARK: - Handshake

    private func handshake() async throws(PluginError) -> Bool {
        guard let first = try await inbox.nextMessage() else { return false }
        guard case .hello(let hello) = first else {
            throw PluginError(category: .protocol, code: ProtocolError.Code.unexpectedMessage.rawValue,
                              message: "the session must start with Hello, not \(first.name)")
        }
        let supported = Self.supportedVersions
        let chosen = min(hello.maxProtocolVersion, supported.upperBound)
        guard hello.minProtocolVersion <= hello.maxProtocolVersion,
              chosen >= max(hello.minProtocolVersion, supported.lowerBound) else {
            throw PluginError(category: .protocol, code: ProtocolError.Code.versionMismatch.rawValue,
                              message: "no common protocol version: the host speaks \(hello.minProtocolVersion)-\(hello.maxProtocolVersion), this plugin speaks \(supported.lowerBound)-\(supported.upperBound)")
        }
        guard hello.maxFrameSize == 0 || hello.maxFrameSize >= Hello.minimumMaxFrameSize else {
            throw PluginError(category: .protocol, code: ProtocolError.Code.invalidMessage.rawValue,
                              message: "Hello.max_frame_size is \(hello.maxFrameSize) bytes, below the minimum of \(Hello.minimumMaxFrameSize) (0 means the default of \(Hello.defaultMaxFrameSize))")
        }
        let frameSize = hello.maxFrameSize == 0 ? Int(Hello.defaultMaxFrameSize) : Int(hello.maxFrameSize)
        reader.maxFrameSize = frameSize
        writer.maxFrameSize = frameSize
        let info = plugin.info
        try await sendOrFail(.hello(HelloReply(pluginName: info.name, pluginVersion: info.version, protocolVersion: chosen,
                                               roles: info.roles, capabilities: info.capabilities)))
        // Log frames only after HelloReply (§3.3): a message logged before it goes to stderr.
        LogRouter.shared.attach(writer, level: hello.logLevel)
        return true
    }

    // MARK: - Calls

    /// Runs one call; returns a message read while draining that starts the next call.
    private func handle(_ message: HostMessage) async throws(PluginError) -> HostMessage? {
        let context = CallContext(logger: logger, maxFrameSize: writer.maxFrameSize)
        switch message {
        case .getSpec:
            defer { endCall() }
            let plugin = self.plugin
            try await sendOrFail(await runCancellable { .spec(plugin.spec()) })
        case .check(let request):
            defer { endCall() }
            let plugin = self.plugin
            try await sendOrFail(await runCancellable {
                let response = await plugin.check(request, context: context)
                // A cancelled Check's results are not the server's answer.
                try Task.checkCancellation()
                return .check(response)
            })
        case .resources(let request):
            defer { endCall() }
            guard let keeper = plugin as? any ResourcePlugin else {
                try await sendOrFail(.error(PluginError(category: .config, code: "UNSUPPORTED_CALL",
                                                        message: "this plugin keeps no resources between calls (it does not announce the feature \(Feature.resources))")))
                return nil
            }
            try await sendOrFail(await runCancellable { .resources(try await keeper.resources(request, context: context)) })
        case .planWrite(let request):
            defer { endCall() }
            guard let planner = plugin as? any WritePlanningPlugin else {
                try await sendOrFail(.error(PluginError(category: .config, code: "UNSUPPORTED_CALL",
                                                        message: "this plugin cannot plan a Write (it does not announce the feature \(Feature.planWrite))")))
                return nil
            }
            try await sendOrFail(await runCancellable { .planWrite(try await planner.planWrite(request, context: context)) })
        case .discover(let request):
            defer { endCall() }
            guard let source = plugin as? any SourcePlugin else { return try await refuse(message) }
            try await sendOrFail(await runCancellable { .catalog(try await source.discover(request, context: context)) })
        case .read(let request):
            defer { endCall() }
            guard let source = plugin as? any SourcePlugin else { return try await refuse(message) }
            let acknowledgements = ReadAcknowledgements(tracking: plugin.info.capabilities.has(Feature.readAcks))
            lock.withLock { readAcknowledgements = acknowledgements }
            defer {
                lock.withLock { readAcknowledgements = nil }
                acknowledgements.finish()
            }
            let output = ReadOutput(writer: writer, context: context, acknowledgements: acknowledgements)
            let final = await runCancellable { .summary(try await source.read(request, output: output)) }
            try await sendOrFail(final)
        case .write(let request):
            defer { endCall() }
            guard let destination = plugin as? any DestinationPlugin else {
                _ = try await refuse(message)
                return try await drainWriteInput()
            }
            let input = WriteInput(source: inbox, catalog: request.catalog,
                                   appliesChanges: plugin.info.capabilities.has(Feature.cdcApply))
            let output = WriteOutput(writer: writer, context: context)
            let final = await runCancellable { .summary(try await destination.write(request, input: input, output: output)) }
            if case .error(let error) = final { lastCallError = error }
            try await sendOrFail(final)
            if !input.reachedEnd && inbox.failure == nil && !lock.withLock({ interrupted }) {
                return try await drainWriteInput()
            }
        case .schema, .records, .state, .writeEnd:
            try await sendOrFail(.error(PluginError(category: .protocol, code: ProtocolError.Code.unexpectedMessage.rawValue,
                                                    message: "\(message.name) arrived outside a Write call")))
        case .hello:
            throw PluginError(category: .protocol, code: ProtocolError.Code.unexpectedMessage.rawValue,
                              message: "Hello arrived twice in one session")
        case .cancel, .close, .readAck:
            break
        }
        return nil
    }

    /// A call is over: a later Cancel no longer concerns it.
    private func endCall() {
        lock.withLock {
            callsEnded += 1
            cancelPending = false
        }
    }

    /// Runs a call in its own task, so Cancel and signals can cancel it; returns its final
    /// message (the reply, or the Error it threw).
    private func runCancellable(_ body: @escaping @Sendable () async throws -> PluginMessage) async -> PluginMessage {
        let result = LockedBox<PluginMessage>(.error(PluginError(category: .system, code: "NO_RESULT", message: "the call ended without a result")))
        let task = Task {
            do {
                result.value = try await body()
            } catch {
                result.value = .error(Self.pluginError(from: error))
            }
        }
        let cancelled = lock.withLock {
            runningCall = task
            return cancelPending || interrupted
        }
        if cancelled { task.cancel() }
        await task.value
        lock.withLock { runningCall = nil }
        return result.value
    }

    /// After a failed Write, skips the rest of its input up to WriteEnd. A call message seen
    /// instead (a host that stopped early) is returned to be handled next.
    private func drainWriteInput() async throws(PluginError) -> HostMessage? {
        while let message = try await inbox.nextMessage() {
            switch message {
            case .schema, .records, .state: continue
            case .writeEnd: return nil
            default: return message
            }
        }
        return nil
    }

    private func refuse(_ message: HostMessage) async throws(PluginError) -> HostMessage? {
        try await sendOrFail(.error(PluginError(category: .config, code: "UNSUPPORTED_CALL",
                                                message: "this plugin does not support \(message.name): its roles are \(plugin.info.roles)")))
        return nil
    }

    // MARK: - Output

    private func sendOrFail(_ message: PluginMessage) async throws(PluginError) {
        do {
            try await writer.send(payload: WireCodec.encode(message))
        } catch {
            throw PluginError(category: .protocol, code: "WRITE_FAILED", message: error.message)
        }
    }

    private func report(_ error: any Error) async {
        try? await writer.send(payload: WireCodec.encode(PluginMessage.error(Self.pluginError(from: error))))
    }

    /// Maps any error a handler throws to the wire's error message.
    static func pluginError(from error: any Error) -> PluginError {
        switch error {
        case let error as PluginError: return error
        case is CancellationError:
            return PluginError(category: .cancelled, code: "CANCELLED", message: "the call was cancelled; nothing uncommitted was kept")
        case let error as ProtocolError:
            return PluginError(category: .protocol, code: error.code.rawValue, message: error.description)
        case let error as TransportError:
            return PluginError(category: .protocol, code: "TRANSPORT_FAILED", message: error.message)
        default:
            return PluginError(category: .system, code: "INTERNAL", message: String(describing: error))
        }
    }
}

/// Lets the reader thread reach the server once it exists.
private final class ReaderRelay: @unchecked Sendable {
    private let lock = NSLock()
    private var actionValue: (@Sendable () -> Void)?
    private var frameSizeValue: (@Sendable (UInt32) -> Void)?
    private var callValue: (@Sendable () -> Void)?
    private var ackValue: (@Sendable (UInt64) -> Void)?
    private var helloSeenValue = false
    /// Whether Hello has been read: a Cancel before it is the handshake's to refuse.
    var helloSeen: Bool { lock.withLock { helloSeenValue } }
    var action: (@Sendable () -> Void)? {
        get { lock.withLock { actionValue } }
        set { lock.withLock { actionValue = newValue } }
    }
    var frameSizeAction: (@Sendable (UInt32) -> Void)? {
        get { lock.withLock { frameSizeValue } }
        set { lock.withLock { frameSizeValue = newValue } }
    }
    var callAction: (@Sendable () -> Void)? {
        get { lock.withLock { callValue } }
        set { lock.withLock { callValue = newValue } }
    }
    var ackAction: (@Sendable (UInt64) -> Void)? {
        get { lock.withLock { ackValue } }
        set { lock.withLock { ackValue = newValue } }
    }
    func fire() { action?() }
    func acknowledge(_ id: UInt64) { ackAction?(id) }
    func noteCall() { callAction?() }
    func applyFrameSize(_ size: UInt32) {
        lock.withLock { helloSeenValue = true }
        frameSizeAction?(size)
    }
}
