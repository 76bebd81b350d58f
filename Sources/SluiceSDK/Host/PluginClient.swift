public import Foundation
public import SluiceWire

/// Drives one plugin process over the protocol: handshake, then calls one at a time.
///
/// In-band Log messages go to `onLog`; everything else a call produces is returned by the
/// call's methods. A plugin that dies is reported as ``HostError/pluginCrashed(_:stderr:)``
/// with its exit status and the tail of its stderr.
public final class PluginClient: @unchecked Sendable {
    /// The spawned process.
    public let process: PluginProcess
    /// The plugin's handshake answer (empty until ``handshake(_:)``).
    public private(set) var helloReply: HelloReply
    private let reader: FrameReader<ReceivedMessage>
    private let writer: FrameWriter
    private let onLog: @Sendable (LogMessage) -> Void
    /// The latest call, and whether it has yet to give its final message.
    private let call = LockedBox(CallState())

    /// Spawns `executable`, performs the handshake with `hello`, and returns a ready client.
    public static func launch(executable: URL, arguments: [String] = [], environment: [String: String]? = nil,
                              hello: Hello, echoStderr: Bool = false,
                              onLog: @escaping @Sendable (LogMessage) -> Void = { _ in }) async throws(HostError) -> PluginClient {
        let client = try spawn(executable: executable, arguments: arguments, environment: environment,
                               echoStderr: echoStderr, onLog: onLog)
        try await client.handshake(hello)
        return client
    }

    /// Spawns `executable` and starts reading its output, without the handshake: the first
    /// half of ``launch(executable:arguments:environment:hello:echoStderr:onLog:)``. Follow it
    /// with ``handshake(_:)``, or, to test how a plugin handles a broken session (conformance
    /// tests), with any ``send(_:)`` or ``sendRaw(_:)`` and ``nextMessage()``.
    public static func spawn(executable: URL, arguments: [String] = [], environment: [String: String]? = nil,
                             echoStderr: Bool = false,
                             onLog: @escaping @Sendable (LogMessage) -> Void = { _ in }) throws(HostError) -> PluginClient {
        let process: PluginProcess
        do {
            process = try PluginProcess(executable: executable, arguments: arguments, environment: environment, echoStderr: echoStderr)
        } catch {
            throw .spawnFailed("\(executable.path): \(error.localizedDescription)")
        }
        return PluginClient(process: process, maxFrameSize: Int(Hello.defaultMaxFrameSize), onLog: onLog)
    }

    /// Sends `hello` (its frame size limit applies from the reply on, both ways), waits for
    /// the HelloReply, checks that the version it chose is within `hello`'s range (§3.1),
    /// keeps it in ``helloReply`` and returns it.
    @discardableResult
    public func handshake(_ hello: Hello) async throws(HostError) -> HelloReply {
        let maxFrameSize = Int(hello.maxFrameSize == 0 ? Hello.defaultMaxFrameSize : hello.maxFrameSize)
        reader.maxFrameSize = maxFrameSize
        writer.maxFrameSize = maxFrameSize
        try await send(.hello(hello))
        guard case .hello(let reply) = try await expectReply(to: "Hello") else {
            throw .protocolViolation("the plugin did not answer Hello with HelloReply")
        }
        guard reply.protocolVersion >= hello.minProtocolVersion, reply.protocolVersion <= hello.maxProtocolVersion else {
            throw .protocolViolation("HelloReply chose protocol version \(reply.protocolVersion), outside the host's \(hello.minProtocolVersion)-\(hello.maxProtocolVersion)")
        }
        helloReply = reply
        return reply
    }

    private init(process: PluginProcess, maxFrameSize: Int, onLog: @escaping @Sendable (LogMessage) -> Void) {
        self.process = process
        self.onLog = onLog
        // A few megabytes of frames read ahead, no more: a host forwarding a Read holds at most
        // these batches beyond the one in flight, whatever the table's or the batches' size.
        self.reader = FrameReader(handle: process.stdoutHandle, maxFrameSize: maxFrameSize,
                                  decode: ReceivedMessage.init(payload:), retained: { $0.payload?.count ?? 0 })
        self.writer = FrameWriter(handle: process.stdinHandle, maxFrameSize: maxFrameSize, label: "sluice.host.output")
        self.helloReply = HelloReply(pluginName: "", pluginVersion: "", protocolVersion: 0, roles: [], capabilities: Capabilities())
        reader.start(name: "sluice.host.input")
    }

    // MARK: - Calls

    /// GetSpec.
    public func spec() async throws(HostError) -> SpecResponse {
        try await send(call: .getSpec)
        switch try await finalReply(to: "GetSpecRequest") {
        case .spec(let spec): return spec
        case .error(let error): throw .plugin(error)
        case let other: throw .protocolViolation("GetSpecRequest was answered with \(other.name), not SpecResponse")
        }
    }

    /// Check.
    public func check(_ request: CheckRequest) async throws(HostError) -> CheckResponse {
        try await send(call: .check(request))
        switch try await finalReply(to: "CheckRequest") {
        case .check(let response): return response
        case .error(let error): throw .plugin(error)
        case let other: throw .protocolViolation("CheckRequest was answered with \(other.name), not CheckResponse")
        }
    }

    /// Discover.
    public func discover(_ request: DiscoverRequest) async throws(HostError) -> Catalog {
        try await send(call: .discover(request))
        switch try await finalReply(to: "DiscoverRequest") {
        case .catalog(let catalog): return catalog
        case .error(let error): throw .plugin(error)
        case let other: throw .protocolViolation("DiscoverRequest was answered with \(other.name), not Catalog")
        }
    }

    /// Resources: lists, or releases, what the plugin keeps between calls (feature `resources`).
    public func resources(_ request: ResourcesRequest) async throws(HostError) -> ResourcesResponse {
        try await send(call: .resources(request))
        switch try await finalReply(to: "ResourcesRequest") {
        case .resources(let response): return response
        case .error(let error): throw .plugin(error)
        case let other: throw .protocolViolation("ResourcesRequest was answered with \(other.name), not ResourcesResponse")
        }
    }

    /// PlanWrite: what a Write would do to the destination's tables (feature `plan_write`).
    public func planWrite(_ request: PlanWriteRequest) async throws(HostError) -> PlanWriteResponse {
        try await send(call: .planWrite(request))
        switch try await finalReply(to: "PlanWriteRequest") {
        case .planWrite(let response): return response
        case .error(let error): throw .plugin(error)
        case let other: throw .protocolViolation("PlanWriteRequest was answered with \(other.name), not PlanWriteResponse")
        }
    }

    /// Starts a Read; then call ``nextCallMessage()`` until it returns `nil`.
    public func startRead(_ request: ReadRequest) async throws(HostError) {
        try await send(call: .read(request))
    }

    /// Starts a Write; then ``send(_:)`` schemas, batches and states, and WriteEnd, while
    /// reading replies with ``nextCallMessage()`` concurrently (or use ``write(_:input:onMessage:)``).
    public func startWrite(_ request: WriteRequest) async throws(HostError) {
        try await send(call: .write(request))
    }

    /// The next message of the running Read or Write, ending with its Summary; `nil` after it.
    /// An Error message from the plugin is thrown as ``HostError/plugin(_:)``.
    public func nextCallMessage() async throws(HostError) -> PluginMessage? {
        try await nextReceivedCallMessage()?.message
    }

    /// ``nextCallMessage()`` with, for a record batch, the bytes it came in: for a host that
    /// forwards the batches of a Read (``ReceivedMessage/forwardingPayload``).
    public func nextReceivedCallMessage() async throws(HostError) -> ReceivedMessage? {
        guard call.value.running else { return nil }
        let received = try await expectReceived(to: "the running call")
        switch received.message {
        case .error(let error):
            call.withLock { $0.running = false }
            throw .plugin(error)
        case .summary:
            call.withLock { $0.running = false }
            return received
        default:
            return received
        }
    }

    /// Runs a whole Write: sends `input` (the SDK appends WriteEnd) while handing every reply
    /// to `onMessage`, and returns the Summary.
    public func write<Input: AsyncSequence & Sendable>(
        _ request: WriteRequest, input: Input,
        onMessage: @escaping @Sendable (PluginMessage) async throws -> Void
    ) async throws -> Summary where Input.Element == HostMessage {
        try await startWrite(request)
        return try await withThrowingTaskGroup(of: Summary?.self) { group in
            group.addTask {
                for try await message in input { try await self.send(message) }
                try await self.send(.writeEnd)
                return nil
            }
            group.addTask {
                while let message = try await self.nextCallMessage() {
                    if case .summary(let summary) = message { return summary }
                    try await onMessage(message)
                }
                throw HostError.protocolViolation("the Write call ended without a Summary")
            }
            var summary: Summary?
            do {
                while let result = try await group.next() {
                    if let result { summary = result }
                }
            } catch {
                group.cancelAll()
                throw error
            }
            guard let summary else { throw HostError.protocolViolation("the Write call ended without a Summary") }
            return summary
        }
    }

    /// Sends one message to the plugin.
    public func send(_ message: HostMessage) async throws(HostError) {
        try await send(encoded: FramePayload(WireCodec.encode(message)), name: message.name)
    }

    /// Sends one message already encoded by `WireCodec.encode(_:)`, or a source's record batch in
    /// the bytes it came in (``ReceivedMessage/forwardingPayload``); `name` for errors. A host
    /// sending the same message to several plugins encodes it once.
    public func send(encoded payload: FramePayload, name: String) async throws(HostError) {
        do {
            try await writer.send(payload: payload)
        } catch {
            throw await crashOr(.protocolViolation("sending \(name) failed: \(error.message)"))
        }
    }

    /// Writes `bytes` to the plugin's stdin exactly as given, without a frame header: for
    /// conformance tests that send malformed frames. Never needed to speak the protocol.
    public func sendRaw(_ bytes: [UInt8]) async throws(HostError) {
        do {
            try await writer.send(raw: bytes)
        } catch {
            throw await crashOr(.protocolViolation("sending \(bytes.count) raw bytes failed: \(error.message)"))
        }
    }

    /// Asks the plugin to cancel its running call (§6.1); returns once the Cancel is written.
    ///
    /// A plugin that stopped reading its input (a Write waiting for a lock, say) does not read the
    /// Cancel either, whether it fits in the pipe or waits behind a full one. So the plugin gets
    /// SIGTERM, which cancels the call the same way without going through the pipe but also ends
    /// the session (§6.2), when the Cancel is not written within `signalAfter` seconds, or when the
    /// call running as it was sent has not given its final message (read with this client)
    /// within `endAfter` seconds.
    public func cancel(signalAfter seconds: Double = 2, endAfter grace: Double = 5) async throws(HostError) {
        let process = self.process, call = self.call
        let cancelled = call.value
        let written = LockedBox(false), signalled = LockedBox(false)
        // Two independent timers, so that neither waits for the other: a short `endAfter` is not
        // delayed by `signalAfter`, and a slow write on a busy machine is judged only by its own.
        let signalOnce = { @Sendable in
            let first = signalled.withLock { done in
                let first = !done
                done = true
                return first
            }
            if first { process.send(signal: SIGTERM) }
        }
        Task {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            if !written.value { signalOnce() }
        }
        if cancelled.running {
            Task {
                try await Task.sleep(nanoseconds: UInt64(grace * 1_000_000_000))
                if call.value == cancelled { signalOnce() }
            }
        }
        try await send(.cancel)
        written.value = true
    }

    /// Ends the session (Close, then end of input) and waits for the plugin to exit;
    /// kills it when it does not exit within `timeout` seconds. Then waits briefly for the end
    /// of its stderr: what the plugin wrote last (stdio buffers flushed as it exits) is still in
    /// the pipe when it has exited, and is echoed and kept before this returns.
    @discardableResult
    public func close(timeout: Double = 10) async -> ExitStatus {
        try? await send(.close)
        process.closeInput()
        let status: ExitStatus
        if let exited = await process.waitForExit(timeout: timeout) {
            status = exited
        } else {
            process.send(signal: SIGKILL)
            status = await process.waitForExit()
        }
        await process.waitForStderrEnd(timeout: 2)
        return status
    }

    // MARK: - Replies

    /// The next message the plugin sends, whatever it is — Log included (it does not reach
    /// `onLog`) — or `nil` once its output ended exactly between frames. For hosts that check
    /// the order of messages themselves (conformance tests); the call methods above are the
    /// usual way to read answers. A broken frame is thrown as ``HostError/protocolViolation(_:)``.
    public func nextMessage() async throws(HostError) -> PluginMessage? {
        guard let event = await reader.queue.next() else { return nil }
        switch event {
        case .message(let received):
            return received.message
        case .protocolError(let error):
            throw .protocolViolation(error.description)
        case .readFailed(let reason):
            throw await crashOr(.protocolViolation("reading the plugin's output failed: \(reason)"))
        }
    }

    /// Sends the request that starts a call.
    private func send(call request: HostMessage) async throws(HostError) {
        call.withLock { $0 = CallState(number: $0.number + 1, running: true) }
        try await send(request)
    }

    /// The final message of a call that answers with one message.
    private func finalReply(to what: String) async throws(HostError) -> PluginMessage {
        let reply = try await expectReply(to: what)
        call.withLock { $0.running = false }
        return reply
    }

    private func expectReply(to what: String) async throws(HostError) -> PluginMessage {
        try await expectReceived(to: what).message
    }

    private func expectReceived(to what: String) async throws(HostError) -> ReceivedMessage {
        while true {
            guard let event = await reader.queue.next() else {
                throw await crashOr(nil)
            }
            switch event {
            case .message(let received):
                if case .log(let log) = received.message {
                    onLog(log)
                    continue
                }
                return received
            case .protocolError(let error):
                throw .protocolViolation("while waiting for the answer to \(what): \(error.description)")
            case .readFailed(let reason):
                throw await crashOr(.protocolViolation("reading the plugin's output failed: \(reason)"))
            }
        }
    }

    /// A dead plugin explains most failures; report that when it is the case.
    private func crashOr(_ other: HostError?) async -> HostError {
        if let status = await process.waitForExit(timeout: other == nil ? 5 : 0.2) {
            await process.waitForStderrEnd(timeout: 0.5)
            return .pluginCrashed(status, stderr: process.stderr)
        }
        return other ?? .pluginCrashed(nil, stderr: process.stderr)
    }
}

/// A client's latest call: its number (1 for the first) and whether its final message is still
/// to come.
private struct CallState: Sendable, Equatable {
    var number = 0
    var running = false
}
