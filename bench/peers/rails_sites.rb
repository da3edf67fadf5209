# frozen_string_literal: true

# bench/many_hosts' Rails peer: a model crawl on PostgreSQL, as a Rails app runs it. ActiveRecord
# 6.1 standalone (Debian's ruby-activerecord: `require "active_record"`, no Rails app, no
# Bundler) with ucrawler_native/rails. A `sites` table gets one row per seed (a site's `/`), then
# `Site.crawl(depth: nil) { |site, page| ... }` at per-host 2, concurrency 256, robots.txt obeyed:
# depth nil (unlimited) crawls each row's whole site, every page coming with its row (records
# loaded 500 at a time). `crawl_and_update`, which writes columns without a block, crawls each
# row's own page only (depth 0, #19), so the block does its job for the row's own page
# (`site.update!(title:, http_status:, crawled_at:)`) and records every page in a `pages` table
# (500 rows an INSERT) and, as "URL\tTITLE", on stdout. Exit status 1 unless every row was
# written and the pages table holds every page printed. The database (DATABASE_URL) must exist
# and be empty: bench/many_hosts creates a throwaway one and drops it.
#   Usage: DATABASE_URL=postgres://... ruby bench/peers/rails_sites.rb SEEDS_FILE
$LOAD_PATH.unshift File.expand_path("../../lib", __dir__)
require "active_record"
require "ucrawler_native/rails"
require_relative "common"

seeds = File.readlines(ARGV.fetch(0), chomp: true).reject(&:empty?)
ActiveRecord::Base.establish_connection(ENV.fetch("DATABASE_URL"))
ActiveRecord::Migration.verbose = false
ActiveRecord::Schema.define do
  create_table :sites do |t|
    t.string :url, null: false
    t.string :title
    t.integer :http_status
    t.datetime :crawled_at
    t.timestamps
  end
  create_table :pages do |t|
    t.references :site, null: false
    t.string :url, null: false
    t.integer :status
  end
end

class Site < ActiveRecord::Base
  include UcrawlerNative::Model

  crawls :url, per_host: 2, concurrency: 256, robots: true
end

class Page < ActiveRecord::Base; end

now = Time.current
Site.insert_all!(seeds.map { |url| { url: url, created_at: now, updated_at: now } })

out = $stdout
out.sync = true # the bench reads progress from the file
printed = 0
rows = []
stats = Site.crawl(depth: nil, batch_size: 500) do |site, page|
  next unless page.ok? && page.status == 200

  site.update!(title: page.title, http_status: page.status, crawled_at: Time.current) if page.depth.zero?
  out.write(PeerCommon.line(page.url, page.title))
  printed += 1
  rows << { site_id: site.id, url: page.url, status: page.status }
  if rows.size >= 500
    Page.insert_all!(rows)
    rows.clear
  end
end
Page.insert_all!(rows) unless rows.empty?
warn JSON.generate(stats.except(:memory, :errors_by_kind, :descriptors))

written = Site.where(http_status: 200).where.not(crawled_at: nil).where.not(title: nil).count
recorded = Page.count
problems = []
problems << "#{seeds.size - written} of #{seeds.size} sites rows not written" if written != seeds.size
problems << "pages table has #{recorded} rows, #{printed} pages printed" if recorded != printed
abort "rails_sites: #{problems.join("; ")}" if problems.any?
