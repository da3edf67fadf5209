# frozen_string_literal: true

require_relative "rails_helper"
require "open3"
require "stringio"

# UcrawlerNative::LogSubscriber (attached by the Railtie): a line per model crawl and per job at
# INFO, per page at DEBUG, in Rails.logger, from real crawls of the test site.
RSpec.describe UcrawlerNative::LogSubscriber, :rails do
  before { Site.delete_all }

  # What UcrawlerNative.logger (Rails.logger) logged inside the block, at `level`.
  def logged(level: :info)
    previous = Rails.logger
    io = StringIO.new
    Rails.logger = Logger.new(io, level: level)
    yield
    io.string
  ensure
    Rails.logger = previous
  end

  def lines(log, pattern)
    log.lines.map(&:chomp).grep(pattern)
  end

  it "is attached by the Railtie to crawl, perform and page events" do
    expect(described_class).to be_attached
    %w[crawl perform page].each do |event|
      expect(ActiveSupport::Notifications.notifier.listening?("#{event}.ucrawler_native")).to be(true), event
    end
  end

  it "logs one line per crawl: seeds, pages, page errors, block errors, duration (once, not again by the crawl)" do
    sites = create_sites(3)
    missing = Site.create!(url: page_url(TestSite::PAGES + 5))
    log = logged { Site.where(id: sites.map(&:id) + [missing.id]).crawl_and_update }

    expect(lines(log, /ucrawler_native: crawl/)).to match(
      [match(/ INFO -- : ucrawler_native: crawled Site: 4 seeds, 4 pages, 1 page errors, 0 block errors in \d+\.\d\ds\z/)]
    )
    expect(log).not_to include("ucrawler_native: page ")
  end

  it "logs a crawl stopped by an exception: the seeds fed, the time and the exception" do
    sites = create_sites(2)
    log = logged do
      expect { Site.where(id: sites.map(&:id)).crawl { |_, _| raise "stop" } }.to raise_error(RuntimeError, "stop")
    end

    expect(lines(log, /ucrawler_native: crawl/)).to match(
      [match(/ INFO -- : ucrawler_native: crawl of Site failed in \d+\.\d\ds \([12] seeds fed\): RuntimeError: stop\z/)]
    )
    expect(log).to include("ucrawler_native: RuntimeError: stop") # reported at ERROR, as before
  end

  it "publishes perform.ucrawler_native around each job and logs a line per job (ActiveJob and Sidekiq)" do
    ids = create_sites(3).map(&:id)
    jobs = []
    log = logged do
      jobs = events("perform.ucrawler_native") do
        UcrawlerNative::CrawlJob.perform_now("Site", ids, { "with" => "update" })
        UcrawlerNative::CrawlJob.perform_now("Site", ids, { "with" => "callback" })
        worker = UcrawlerNative::SidekiqWorker.new
        worker.jid = "0123abcd"
        worker.perform("Site", ids.first(2), {})
      end
    end

    expect(jobs.map { |event| event.payload.values_at(:job, :model, :ids, :with, :queue) }).to eq(
      [["UcrawlerNative::CrawlJob", "Site", 3, "update", "default"], ["UcrawlerNative::CrawlJob", "Site", 3, "callback", "default"],
       ["UcrawlerNative::SidekiqWorker", "Site", 2, "callback", "default"]]
    )
    expect(jobs.first.payload).to include(executions: 1, job_id: match(/\A\h{8}-/))
    expect(jobs.first.payload[:stats]).to include(seeds: 3, pages: 3, errors: 0, rows_written: 3)
    expect(jobs.last.payload).to include(jid: "0123abcd")

    job_id = Regexp.escape(jobs.first.payload[:job_id])
    counts = ->(n) { "#{n} seeds, #{n} pages, 0 page errors, 0 block errors" }
    expect(lines(log, /ucrawler_native: job /)).to match(
      [match(/job UcrawlerNative::CrawlJob \(job_id #{job_id}, queue default\) Site: 3 ids, update: #{counts[3]}, 3 rows written in \d+\.\d\ds\z/),
       match(/job UcrawlerNative::CrawlJob \(job_id \h{8}-[\h-]+, queue default\) Site: 3 ids, callback: #{counts[3]} in \d+\.\d\ds\z/),
       match(/job UcrawlerNative::SidekiqWorker \(jid 0123abcd, queue default\) Site: 2 ids, callback: #{counts[2]} in \d+\.\d\ds\z/)]
    )
    expect(lines(log, /ucrawler_native: job /)).to all(include(" INFO -- : "))
    expect(lines(log, /ucrawler_native: crawled Site/).size).to eq(3) # and each job's crawl, once
  end

  it "logs a job that fails: the exception, after the job's context" do
    ids = create_sites(2).map(&:id)
    jobs = []
    log = logged do
      jobs = events("perform.ucrawler_native") do
        expect { UcrawlerNative::CrawlJob.perform_now("Site", ids, { "depth" => "deep" }) }.to raise_error(TypeError, /depth/)
      end
    end

    expect(jobs.first.payload).to include(job: "UcrawlerNative::CrawlJob", model: "Site", ids: 2, with: nil,
                                          exception: ["TypeError", match(/depth/)])
    expect(lines(log, /ucrawler_native: job /)).to match(
      [match(/ INFO -- : ucrawler_native: job UcrawlerNative::CrawlJob \(job_id \h{8}-[\h-]+, queue default\) Site: 2 ids failed in \d+\.\d\ds: TypeError: /)]
    )
  end

  it "logs a line per page at DEBUG; above DEBUG, pages are not even published for it" do
    sites = create_sites(2)
    missing = Site.create!(url: page_url(TestSite::PAGES + 6))
    ids = sites.map(&:id) + [missing.id]
    published = 0
    allow_any_instance_of(UcrawlerNative::ModelCrawl::Instrumentation).to receive(:page).and_wrap_original do |original, *args|
      published += 1
      original.call(*args)
    end

    quiet = logged(level: :info) { Site.where(id: ids).crawl_ids { |_, _| nil } }
    expect(published).to eq(0)
    expect(quiet).not_to include("ucrawler_native: page ")

    log = logged(level: :debug) { Site.where(id: ids).crawl_ids { |_, _| nil } }
    expect(published).to eq(3)
    pages = lines(log, /ucrawler_native: page /)
    expect(pages).to all(include(" DEBUG -- : "))
    expect(pages).to match_array(
      sites.map { |site| match(/page Site ##{site.id}: 200 #{Regexp.escape(site.url)} \(\d+ bytes, \d+\.\d{3}s, new\)\z/) } +
      [match(/page Site ##{missing.id}: 404 #{Regexp.escape(missing.url)} \(\d+ bytes, \d+\.\d{3}s, http_status\)\z/)]
    )
    expect(lines(log, /ucrawler_native: crawled Site: 3 seeds, 3 pages, 1 page errors/).size).to eq(1)
  end

  it "leaves the crawl line to the crawl itself when it is not attached (outside Rails): one line still" do
    described_class.detach_from(:ucrawler_native)
    expect(described_class).not_to be_attached
    sites = create_sites(2)
    log = logged { Site.where(id: sites.map(&:id)).crawl { |_, _| nil } }
    expect(lines(log, /ucrawler_native: crawled Site: 2 seeds, 2 pages, 0 page errors, 0 block errors in \d+\.\d\ds\z/).size).to eq(1)

    script = 'require "ucrawler_native/rails"; print UcrawlerNative::LogSubscriber.attached?'
    out, err, status = Open3.capture3(RbConfig.ruby, "-I", File.join(TestSite::ROOT, "lib"), "-e", script)
    expect(status).to be_success, err
    expect(out).to eq("false")
  ensure
    described_class.attach_to(:ucrawler_native) unless described_class.attached?
  end
end
