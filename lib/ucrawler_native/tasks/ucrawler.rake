# frozen_string_literal: true

# Operator tasks of the Rails glue (the Railtie loads them: `rake -T ucrawler` lists them).
# MODEL is a model that includes UcrawlerNative::Model; SCOPE an optional class method or
# scope of it returning a relation (e.g. `uncrawled`).
namespace :ucrawler do
  desc "Crawl MODEL's rows now, writing its `crawls ..., update:` mapping (rake \"ucrawler:crawl[Site,uncrawled]\")"
  task :crawl, %i[model scope] => :environment do |_task, args|
    relation = UcrawlerNative::Tasks.relation(args[:model], args[:scope])
    stats = relation.crawl_and_update
    puts UcrawlerNative::Tasks.summary(relation.klass, stats)
  end

  desc "Enqueue crawl jobs for MODEL's rows (VIA=active_job|sidekiq, IDS_PER_JOB=500) (rake \"ucrawler:enqueue[Site,uncrawled]\")"
  task :enqueue, %i[model scope] => :environment do |_task, args|
    relation = UcrawlerNative::Tasks.relation(args[:model], args[:scope])
    via = ENV.fetch("VIA", "active_job").to_sym
    jobs = relation.crawl_later(via: via, ids_per_job: Integer(ENV.fetch("IDS_PER_JOB", "500"), 10))
    puts "#{relation.klass.name}: #{jobs} jobs enqueued (#{via})"
  end

  desc "Show each crawlable model: rows, rows without a URL, rows not crawled yet, declaration"
  task status: :environment do
    UcrawlerNative::Tasks.models.each { |model| puts UcrawlerNative::Tasks.status(model) }
  end

  desc "Check every crawlable model's declaration against the database (URL column, update: columns, callback)"
  task check: :environment do
    problems = UcrawlerNative::Tasks.models.filter_map do |model|
      UcrawlerNative::ModelCrawl::Declaration.check!(model)
      nil
    rescue UcrawlerNative::Error => e
      e.message
    end
    abort(problems.map { |problem| "ucrawler:check: #{problem}" }.join("\n")) if problems.any?
    puts "ucrawler:check: #{UcrawlerNative::Tasks.models.map(&:name).join(", ")} OK"
  end
end
