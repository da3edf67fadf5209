# frozen_string_literal: true

require "socket"

# Loopback ports for the benchmarks' servers.
module LocalNet
  module_function

  # A port free on 127.0.0.1 right now.
  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  # Whether something accepts connections on `port` within `seconds`.
  def wait_for_port(port, seconds = 15)
    deadline = Time.now + seconds
    loop do
      TCPSocket.new("127.0.0.1", port).close
      return true
    rescue SystemCallError
      return false if Time.now > deadline

      sleep 0.05
    end
  end
end
