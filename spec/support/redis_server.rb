# frozen_string_literal: true

require "socket"
require "tmpdir"

# A redis-server of our own on a free port (never the shared one on 6379), stopped by the spec
# that starts it. `aof: true` keeps an append-only file, so a restart keeps the data.
class RedisServer
  attr_reader :url, :port

  def initialize(dir: Dir.mktmpdir("ucrawler-spec-redis"), aof: false)
    @dir = dir
    @aof = aof
    @port = free_port
    @url = "redis://127.0.0.1:#{@port}/0"
    @log = File.join(@dir, "redis-#{@port}.log")
  end

  def start
    persistence = @aof ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
    @pid = Process.spawn("redis-server", "--port", @port.to_s, "--bind", "127.0.0.1", "--save", "",
                         "--dir", @dir, *persistence, "--daemonize", "no", "--logfile", @log,
                         in: File::NULL, out: File::NULL, err: File::NULL)
    deadline = monotonic + 10
    until ping
      raise "redis-server did not start on port #{@port}: #{log_tail}" if monotonic > deadline

      sleep 0.05
    end
    self
  end

  def stop
    return unless @pid

    ChildProcess.terminate(@pid)
  ensure
    @pid = nil
  end

  private

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def ping
    TCPSocket.open("127.0.0.1", @port) do |socket|
      socket.write("PING\r\n")
      socket.wait_readable(1) && socket.gets&.start_with?("+PONG")
    end
  rescue SystemCallError
    false
  end

  def log_tail
    File.exist?(@log) ? File.read(@log)[-4000..] || File.read(@log) : "(no #{@log})"
  end

  def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end
