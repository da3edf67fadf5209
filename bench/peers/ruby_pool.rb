# frozen_string_literal: true

# bench/run's peer (3): the classic Ruby crawler — a pool of 64 threads, each with its own
# keep-alive Net::HTTP connection, a Queue of URLs, a Set (under a Mutex) for dedup, Nokogiri
# (Debian's ruby-nokogiri) for the title and the links. Prints "URL\tTITLE" for every page
# fetched with status 200. Usage: ruby bench/peers/ruby_pool.rb URL [THREADS]
require "net/http"
require "nokogiri"
require "set"
require_relative "common"

seed = URI(ARGV.fetch(0))
threads = Integer(ARGV.fetch(1, "64"))
origin = PeerCommon.origin(seed)
out = $stdout
out.sync = false
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)

robots = Net::HTTP.start(seed.host, seed.port) { |http| http.get("/robots.txt") }
allowed = PeerCommon.robots_rules(robots.is_a?(Net::HTTPSuccess) ? robots.body : "")

queue = Queue.new
seen = Set.new
lock = Mutex.new
pending = 0 # URLs queued or being fetched; 0 = the crawl is over
pages = 0
errors = 0

enqueue = lambda do |url|
  key = url.to_s
  lock.synchronize do
    next unless seen.add?(key)
    next unless allowed.call(url.request_uri)

    pending += 1
    queue << url
  end
end
enqueue.call(PeerCommon.resolve(seed, seed.to_s, origin))

workers = Array.new(threads) do
  Thread.new do
    http = nil
    while (url = queue.pop) != :done
      begin
        attempts = 0
        begin
          http ||= Net::HTTP.start(seed.host, seed.port, open_timeout: 10, read_timeout: 30)
          response = http.request(Net::HTTP::Get.new(url.request_uri))
        rescue IOError, SystemCallError, Net::ReadTimeout, Net::OpenTimeout, EOFError
          http&.finish rescue nil # rubocop:disable Style/RescueModifier
          http = nil
          attempts += 1
          retry if attempts < 3
          raise
        end
        if response.is_a?(Net::HTTPOK) && response["content-type"].to_s.include?("html")
          doc = Nokogiri::HTML(response.body)
          title = doc.at_css("title")&.text
          doc.css("a[href]").each do |a|
            link = PeerCommon.resolve(url, a["href"], origin)
            enqueue.call(link) if link
          end
          line = PeerCommon.line(url, title)
          lock.synchronize do
            out << line
            pages += 1
          end
        else
          lock.synchronize { errors += 1 }
        end
      rescue StandardError => e
        warn "ruby_pool: #{url}: #{e.class}: #{e.message}"
        lock.synchronize { errors += 1 }
      ensure
        lock.synchronize do
          pending -= 1
          threads.times { queue << :done } if pending.zero?
        end
      end
    end
    http&.finish rescue nil # rubocop:disable Style/RescueModifier
  end
end
workers.each(&:join)
out.flush
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
warn format("ruby_pool: %d pages, %d errors, crawl %.2fs", pages, errors, elapsed)
