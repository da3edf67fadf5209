# frozen_string_literal: true

# bench/many_hosts' Sidekiq peer, the launcher: starts a throwaway redis-server on a Unix socket,
# PROCESSES Sidekiq processes of THREADS threads each (Debian's ruby-sidekiq 6.4, `sidekiq -r
# bench/peers/sidekiq_job.rb`), enqueues one CrawlSiteJob per seed (Sidekiq::Client.push_bulk),
# waits until every job has finished, then kills Sidekiq and Redis (their work is done: a
# graceful stop would add Sidekiq's ~2.5 s pause for fetchers blocked in BRPOP to the wall
# time). Pages go to OUT_FILE ("URL\tTITLE" lines, written by the jobs). Exit status 1 if a
# Sidekiq process died.
# The bench measures this launcher's children (Sidekiq and redis-server), not the launcher, which
# stands for the app that enqueues the jobs.
#   Usage: ruby bench/peers/sidekiq_run.rb SEEDS_FILE OUT_FILE [PROCESSES] [THREADS]
require "sidekiq"
require_relative "sidekiq_job"

seeds_file, out_file = ARGV.fetch(0), ARGV.fetch(1)
processes = Integer(ARGV.fetch(2, "1"))
threads = Integer(ARGV.fetch(3, "25"))
seeds = File.readlines(seeds_file, chomp: true).reject(&:empty?)

def stop(pid, signal)
  Process.kill(signal, pid)
  Process.wait(pid)
rescue SystemCallError
  nil
end

def alive?(pid) = Process.waitpid(pid, Process::WNOHANG).nil?

socket = "#{out_file}.redis.sock"
redis_url = "unix://#{socket}"
redis = Process.spawn("redis-server", "--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--save", "",
                      "--appendonly", "no", in: File::NULL, out: File::NULL)
workers = []
begin
  Sidekiq.configure_client { |config| config.redis = { url: redis_url } }
  deadline = Time.now + 10
  begin
    Sidekiq.redis(&:ping)
  rescue Redis::CannotConnectError
    abort "sidekiq_run: redis-server did not start on #{socket}" if Time.now > deadline

    sleep 0.05
    retry
  end

  env = { "REDIS_URL" => redis_url, "PEER_OUT" => out_file }
  workers = Array.new(processes) do |i|
    log = "#{out_file}.sidekiq-#{i}.log"
    Process.spawn(env, "sidekiq", "-r", File.expand_path("sidekiq_job.rb", __dir__), "-c", threads.to_s,
                  "-q", "default", "-t", "5", in: File::NULL, out: log, err: log)
  end
  seeds.each_slice(1000) { |slice| Sidekiq::Client.push_bulk("class" => CrawlSiteJob, "args" => slice.map { |s| [s] }) }

  done = 0
  while done < seeds.size
    dead = workers.reject { |pid| alive?(pid) }
    abort "sidekiq_run: Sidekiq process(es) #{dead.join(", ")} died; see #{out_file}.sidekiq-*.log" if dead.any?

    sleep 0.05
    done = Sidekiq.redis { |r| r.get(CrawlSiteJob::DONE_KEY) }.to_i
  end
  warn "sidekiq_run: #{done} jobs done (#{processes} × #{threads} threads)"
ensure
  workers.each { |pid| stop(pid, "KILL") }
  stop(redis, "KILL")
  File.delete(socket) if File.exist?(socket)
end
