# frozen_string_literal: true

# Specs run against the checkout's lib/ (after `rake compile`) and ONE test site per run, served
# by the CLI binary (`ucrawler serve-testsite`, from $UCRAWLER_BIN or target/debug/ucrawler).
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)

require "fileutils"
require "io/wait"
require "rbconfig"
require "timeout"
require "tmpdir"
require "ucrawler_native"
require_relative "support/redis_server"

module ChildProcess
  # Stops a child: TERM, then KILL after `grace` seconds; a process already gone is fine.
  def self.terminate(pid, grace: 10)
    Process.kill("TERM", pid)
    Timeout.timeout(grace) { Process.wait(pid) }
  rescue Timeout::Error
    Process.kill("KILL", pid)
    Process.wait(pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end
end

module TestSite
  ROOT = File.expand_path("..", __dir__)
  # At least 200: the lazy-seed spec crawls /page/1.html … /page/200.html.
  PAGES = 300
  START_LIMIT = 30 # seconds to wait for the server's first line

  class << self
    attr_reader :base_url, :expected_urls

    def binary
      ENV.fetch("UCRAWLER_BIN") { File.join(ROOT, "target/debug/ucrawler") }
    end

    def start
      bin = binary
      unless File.file?(bin) && File.executable?(bin)
        raise "ucrawler test site binary not found at #{bin}: run `cargo build -p ucrawler-cli` " \
              "first, or set UCRAWLER_BIN to the `ucrawler` binary"
      end

      @dir = Dir.mktmpdir("ucrawler-spec-site")
      expected = File.join(@dir, "expected-urls.txt")
      reader, writer = IO.pipe
      @pid = Process.spawn(bin, "serve-testsite", "--pages", PAGES.to_s, "--port", "0",
                           "--expected-urls", expected,
                           in: File::NULL, out: writer, err: File.join(@dir, "testsite.log"))
      writer.close
      @stdout = reader
      line = read_first_line(reader)
      raise "test site did not print its URL (got #{line.inspect}); log: #{log}" unless line&.start_with?("http://")

      @base_url = line.strip.chomp("/").freeze
      @expected_urls = File.readlines(expected, chomp: true).reject(&:empty?).map(&:freeze).freeze
      raise "test site wrote no expected URLs to #{expected}" if @expected_urls.empty?
    end

    def stop
      return unless @pid

      ChildProcess.terminate(@pid)
      @pid = nil
      @stdout&.close
      FileUtils.rm_rf(@dir) if @dir
    end

    private

    def read_first_line(reader)
      return reader.gets if reader.wait_readable(START_LIMIT)

      raise "test site printed nothing within #{START_LIMIT}s; log: #{log}"
    end

    def log
      File.read(File.join(@dir, "testsite.log"))[-2000..] || ""
    rescue SystemCallError
      ""
    end
  end
end

# Helpers for examples.
module SiteHelpers
  def base_url = TestSite.base_url

  def site_url(path = "/") = "#{TestSite.base_url}#{path}"

  # The exact URLs a complete same-host crawl from "/" finds.
  def expected_urls = TestSite.expected_urls

  # 1 byte per second, forever.
  def slow_drip_url = site_url("/hostile/slow-drip")

  def page_url(number) = site_url("/page/#{number}.html")

  def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Seconds `block` took.
  def elapsed
    started = monotonic
    yield
    monotonic - started
  end

  # Polls `condition` until it holds or `limit` seconds pass; returns whether it held.
  def eventually(limit: 5, interval: 0.01)
    deadline = monotonic + limit
    until yield
      return false if monotonic > deadline

      sleep interval
    end
    true
  end

  # Runs a command, its stdout and stderr merged, for up to `limit` seconds (then kills it):
  # returns [output, Process::Status, seconds]. Unlike Open3.capture2e, an exception (Timeout)
  # does not wait for the child forever.
  def run_command(env, *command, limit:, chdir: Dir.pwd)
    reader, writer = IO.pipe
    started = monotonic
    pid = Process.spawn(env, *command, chdir: chdir, in: File::NULL, out: writer, err: writer)
    writer.close
    output = +""
    collector = Thread.new { output << reader.read }
    status, took = wait_child(pid, limit: limit)
    collector.join(5)
    [output, status, took || (monotonic - started)]
  ensure
    if pid && status.nil?
      Process.kill("KILL", pid) rescue nil # rubocop:disable Style/RescueModifier
      Process.wait(pid) rescue nil # rubocop:disable Style/RescueModifier
    end
    reader&.close
  end

  # Waits for a child process up to `limit` seconds (kills it after); returns [status, seconds].
  def wait_child(pid, limit:)
    started = monotonic
    loop do
      _, status = Process.waitpid2(pid, Process::WNOHANG)
      return [status, monotonic - started] if status

      if monotonic - started > limit
        Process.kill("KILL", pid)
        _, status = Process.waitpid2(pid)
        return [status, monotonic - started]
      end
      sleep 0.01
    end
  end
end

RSpec.configure do |config|
  config.include SiteHelpers

  config.expect_with :rspec do |expectations|
    expectations.include_chain_clauses_in_custom_matcher_descriptions = true
  end
  config.mock_with :rspec do |mocks|
    mocks.verify_partial_doubles = true
  end
  config.disable_monkey_patching!
  config.warnings = false
  config.order = :defined

  config.fail_if_no_examples = true

  config.before(:suite) { TestSite.start }
  config.after(:suite) { TestSite.stop }

  # The Rails specs' app sets UcrawlerNative.defaults (its config.ucrawler_native) for the whole
  # process, and every crawler starts from them: the other specs test the engine's own defaults.
  config.around do |example|
    if example.metadata[:rails]
      example.run
    else
      begin
        saved = UcrawlerNative.defaults
        UcrawlerNative.defaults = {}
        example.run
      ensure
        UcrawlerNative.defaults = saved
      end
    end
  end

  # A hang must fail the example, not the whole run (interrupts themselves are under test, so a
  # crawl that ignores them is reported here). `timeout:` metadata overrides the limit.
  config.around do |example|
    Timeout.timeout(example.metadata.fetch(:timeout, 60)) { example.run }
  end
end

at_exit { TestSite.stop }
