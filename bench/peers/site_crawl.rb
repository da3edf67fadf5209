# frozen_string_literal: true

# One site crawled the classic Ruby way, shared by ruby_pool.rb (bench/run: one site, 64 threads)
# and sidekiq_job.rb (bench/many_hosts: one site per Sidekiq job, 2 threads). robots.txt first,
# on a connection of its own that is closed before anything else is sent; then `threads` threads,
# each with its own keep-alive Net::HTTP connection, take URLs from a Queue; a Set under a Mutex
# dedups them; Nokogiri (Debian's ruby-nokogiri) reads the title and the links, which follow
# PeerCommon's rules. So at most `threads` requests are ever in flight to the site.
require "net/http"
require "nokogiri"
require "set"
require_relative "common"

module PeerCommon
  class SiteCrawl
    NETWORK_ERRORS = [IOError, SystemCallError, Net::ReadTimeout, Net::OpenTimeout, EOFError].freeze

    attr_reader :pages, :errors

    # `seed`: a URI (the site's `/`); `name` prefixes the warnings.
    def initialize(seed, threads:, name:)
      @seed = seed
      @threads = threads
      @name = name
      @origin = PeerCommon.origin(seed)
      @queue = Queue.new
      @seen = Set.new
      @lock = Mutex.new
      @pending = 0 # URLs queued or being fetched; 0 = the crawl is over
      @pages = 0
      @errors = 0
    end

    # Crawls the site; yields `(url, title)` for every HTML page fetched with status 200, one
    # page at a time (under the crawl's lock). Returns self.
    def run(&on_page)
      robots = Net::HTTP.start(@seed.host, @seed.port) { |http| http.get("/robots.txt") }
      @allowed = PeerCommon.robots_rules(robots.is_a?(Net::HTTPSuccess) ? robots.body : "")
      enqueue(PeerCommon.resolve(@seed, @seed.to_s, @origin))
      Array.new(@threads) { Thread.new { work(&on_page) } }.each(&:join)
      self
    end

    private

    def enqueue(url)
      @lock.synchronize do
        next unless @seen.add?(url.to_s)
        next unless @allowed.call(url.request_uri)

        @pending += 1
        @queue << url
      end
    end

    def work(&on_page)
      http = nil
      while (url = @queue.pop) != :done
        begin
          response, http = fetch(url, http)
          handle(url, response, &on_page)
        rescue StandardError => e
          warn "#{@name}: #{url}: #{e.class}: #{e.message}"
          @lock.synchronize { @errors += 1 }
        ensure
          @lock.synchronize do
            @pending -= 1
            @threads.times { @queue << :done } if @pending.zero?
          end
        end
      end
    ensure
      http&.finish rescue nil # rubocop:disable Style/RescueModifier
    end

    # GET on the thread's connection (opened on first use, reopened after a network error, 3
    # attempts): [response, connection].
    def fetch(url, http)
      attempts = 0
      begin
        http ||= Net::HTTP.start(@seed.host, @seed.port, open_timeout: 10, read_timeout: 30)
        [http.request(Net::HTTP::Get.new(url.request_uri)), http]
      rescue *NETWORK_ERRORS
        http&.finish rescue nil # rubocop:disable Style/RescueModifier
        http = nil
        attempts += 1
        retry if attempts < 3
        raise
      end
    end

    def handle(url, response)
      unless response.is_a?(Net::HTTPOK) && response["content-type"].to_s.include?("html")
        @lock.synchronize { @errors += 1 }
        return
      end
      doc = Nokogiri::HTML(response.body)
      title = doc.at_css("title")&.text
      doc.css("a[href]").each do |a|
        link = PeerCommon.resolve(url, a["href"], @origin)
        enqueue(link) if link
      end
      @lock.synchronize do
        @pages += 1
        yield url, title
      end
    end
  end
end
